/**
 * Signing a model directory and verifying it offline: real files, real ONNX bytes, real keys.
 * Every refusal is checked on the message a person would read.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFile, mkdir, mkdtemp, readFile, rm, symlink, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  digestModelDirectory,
  generateSigningKeyPair,
  MODEL_SIGNATURE_PREDICATE_TYPE,
  type SigningKeyPair,
  signModel,
  signStatement,
  verifyModelSignatures,
  verifyStatementBundle,
} from '../../supply-chain/signing/index.ts';
import { repoPath } from '../support/paths.ts';

const IRIS_V1 = repoPath('models/iris/v1/model.onnx');
const IRIS_V2 = repoPath('models/iris/v2/model.onnx');

const scratch = await mkdtemp(join(tmpdir(), 'modelship-signing-'));
afterAll(() => rm(scratch, { recursive: true, force: true }));

const release = generateSigningKeyPair();
const qa = generateSigningKeyPair();
const stranger = generateSigningKeyPair();

let counter = 0;
/** A fresh model directory named `model` holding iris v1 (plus any extra files given). */
async function modelDir(extra: Record<string, string> = {}, source = IRIS_V1): Promise<string> {
  const dir = join(scratch, `case-${++counter}`, 'model');
  await mkdir(dir, { recursive: true });
  await copyFile(source, join(dir, 'model.onnx'));
  for (const [path, text] of Object.entries(extra)) {
    await mkdir(join(dir, path, '..'), { recursive: true });
    await writeFile(join(dir, path), text);
  }
  return dir;
}

function sha256(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

async function verify(
  dir: string,
  trusted: Record<string, SigningKeyPair> = { release },
  required = ['release'],
) {
  const trustedKeys = Object.fromEntries(
    Object.entries(trusted).map(([name, pair]) => [name, pair.publicKeyPem]),
  );
  return verifyModelSignatures({ modelDir: dir, trustedKeys, requiredKeys: required });
}

function errors(report: { findings: { severity: string; message: string }[] }): string[] {
  return report.findings.filter((f) => f.severity === 'error').map((f) => f.message);
}

describe('digestModelDirectory', () => {
  it('matches model_signing 1.1 on the same files (root digest computed by its CLI)', async () => {
    // `model_signing sign key` over exactly these three files produced root digest c8e37a16…
    // and this resource order: component-wise, so "a-b" < "model.onnx" < "sub/a.txt".
    const dir = await modelDir({ 'a-b': 'x\n', 'sub/a.txt': 'hi\n' });
    const digest = await digestModelDirectory(dir);
    expect(digest.files.map((f) => f.path)).toEqual(['a-b', 'model.onnx', 'sub/a.txt']);
    expect(digest.rootDigest).toBe('c8e37a1636f18ddb60031d9a63608d1b669256aa0903161ffd6735af9591a8fd');
  });

  it('orders paths component by component, not as plain strings', async () => {
    const dir = await modelDir({ 'a-b/c': '1', 'a/b': '2', 'a.bin': '3' });
    const digest = await digestModelDirectory(dir);
    // Plain string order would give a-b/c, a.bin, a/b ("-" < "." < "/").
    expect(digest.files.map((f) => f.path)).toEqual(['a/b', 'a-b/c', 'a.bin', 'model.onnx']);
    const onnx = await readFile(IRIS_V1);
    expect(digest.files.find((f) => f.path === 'model.onnx')).toEqual({
      path: 'model.onnx',
      sha256: sha256(onnx),
      sizeBytes: onnx.length,
    });
  });

  it('leaves top-level *.sig files out, but not nested ones', async () => {
    const dir = await modelDir({ 'model.sig': '{}', 'alice.sig': '{}', 'sub/inner.sig': 'data' });
    const digest = await digestModelDirectory(dir);
    expect(digest.files.map((f) => f.path)).toEqual(['model.onnx', 'sub/inner.sig']);
  });

  it('refuses symbolic links and special files, naming each', async () => {
    const dir = await modelDir();
    await symlink('/etc/passwd', join(dir, 'weights.bin'));
    execFileSync('mkfifo', [join(dir, 'pipe')]);
    await expect(digestModelDirectory(dir)).rejects.toThrow(
      /pipe: special file \(FIFO, socket or device\)\n {2}weights\.bin: symbolic link/,
    );
  });
});

describe('signModel then verifyModelSignatures', () => {
  it('passes for an untouched model and records what model_signing expects', async () => {
    const dir = await modelDir({ 'weights/extra.bin': 'external data' });
    const signed = await signModel({ modelPath: dir, privateKeyPem: release.privateKeyPem });
    expect(signed.signaturePath).toBe(join(dir, 'model.sig'));
    expect(signed.files.map((f) => f.path)).toEqual(['model.onnx', 'weights/extra.bin']);
    expect(signed.keyId).toBe(release.keyId);

    const report = await verify(dir);
    expect(errors(report)).toEqual([]);
    expect(report.passed).toBe(true);
    expect(report.verifiedKeys).toEqual(['release']);
    expect(report.rootDigest).toBe(signed.rootDigest);
    expect(report.signatures).toEqual([
      {
        path: 'model.sig',
        keyName: 'release',
        keyId: release.keyId,
        valid: true,
        reason: expect.stringContaining('all 2 files match'),
      },
    ]);

    const bundle = JSON.parse(await readFile(signed.signaturePath, 'utf8'));
    expect(bundle.mediaType).toBe('application/vnd.dev.sigstore.bundle.v0.3+json');
    expect(bundle.verificationMaterial.publicKey.hint).toBe(release.keyId);
    expect(bundle.dsseEnvelope.payloadType).toBe('application/vnd.in-toto+json');
    const statement = JSON.parse(Buffer.from(bundle.dsseEnvelope.payload, 'base64').toString('utf8'));
    expect(statement).toEqual({
      _type: 'https://in-toto.io/Statement/v1',
      subject: [{ name: 'model', digest: { sha256: signed.rootDigest } }],
      predicateType: MODEL_SIGNATURE_PREDICATE_TYPE,
      predicate: {
        serialization: {
          method: 'files',
          hash_type: 'sha256',
          allow_symlinks: false,
          ignore_paths: ['model.sig'],
        },
        resources: signed.files.map((f) => ({ name: f.path, algorithm: 'sha256', digest: f.sha256 })),
      },
    });
  });

  it('given a file, signs the directory that holds it', async () => {
    const dir = await modelDir({ 'data.bin': 'tensor bytes' });
    const signed = await signModel({
      modelPath: join(dir, 'model.onnx'),
      privateKeyPem: release.privateKeyPem,
    });
    expect(signed.modelDir).toBe(dir);
    expect(signed.files.map((f) => f.path)).toEqual(['data.bin', 'model.onnx']);
  });

  it('fails when one byte of model.onnx changed, naming the file and both digests', async () => {
    const dir = await modelDir();
    await signModel({ modelPath: dir, privateKeyPem: release.privateKeyPem });
    const bytes = await readFile(join(dir, 'model.onnx'));
    const signedDigest = sha256(bytes);
    bytes[bytes.length - 1] = (bytes.at(-1) ?? 0) ^ 0x01;
    await writeFile(join(dir, 'model.onnx'), bytes);

    const report = await verify(dir);
    expect(report.passed).toBe(false);
    expect(errors(report)).toContain(
      `model.onnx differs from signature model.sig: signed sha256 ${signedDigest.slice(0, 12)}…, found ${sha256(bytes).slice(0, 12)}…`,
    );
    expect(report.signatures[0]?.valid).toBe(false);
    expect(report.verifiedKeys).toEqual([]);
  });

  it('fails on a file the signature does not list', async () => {
    const dir = await modelDir();
    await signModel({ modelPath: dir, privateKeyPem: release.privateKeyPem });
    await writeFile(join(dir, 'extra.bin'), 'smuggled');
    const report = await verify(dir);
    expect(report.passed).toBe(false);
    expect(errors(report)).toContain(
      'unlisted file extra.bin: in the model directory but not covered by signature model.sig',
    );
  });

  it('fails on a listed file that is missing', async () => {
    const dir = await modelDir({ 'weights.bin': 'external tensor data' });
    await signModel({ modelPath: dir, privateKeyPem: release.privateKeyPem });
    await unlink(join(dir, 'weights.bin'));
    const report = await verify(dir);
    expect(report.passed).toBe(false);
    expect(errors(report)).toEqual([
      expect.stringMatching(
        /^missing file weights\.bin: listed in signature model\.sig \(sha256 [0-9a-f]{12}…\)/,
      ),
      'required key "release" has no valid signature on this model (model.sig by this key did not verify)',
    ]);
  });

  it('fails on a signature by an untrusted key, saying which key id', async () => {
    const dir = await modelDir();
    await signModel({ modelPath: dir, privateKeyPem: stranger.privateKeyPem });
    const report = await verify(dir);
    expect(report.passed).toBe(false);
    expect(report.signatures[0]).toMatchObject({ keyName: null, keyId: stranger.keyId, valid: false });
    expect(errors(report)[0]).toBe(
      `model.sig: signed by untrusted key ${stranger.keyId} (trusted keys: "release" ${release.keyId.slice(0, 16)}…)`,
    );
  });

  it('fails on a genuine signature that points at other bytes (signed over another model)', async () => {
    const other = await modelDir({}, IRIS_V2);
    await signModel({ modelPath: other, privateKeyPem: release.privateKeyPem });
    const dir = await modelDir();
    await copyFile(join(other, 'model.sig'), join(dir, 'model.sig'));
    const report = await verify(dir);
    expect(report.passed).toBe(false);
    expect(errors(report)[0]).toMatch(/^model\.onnx differs from signature model\.sig: signed sha256 /);
    expect(report.signatures[0]?.reason).toContain('signed by "release"');
  });

  it('fails while a required key has not signed, and passes once it co-signs', async () => {
    const dir = await modelDir();
    await signModel({ modelPath: dir, privateKeyPem: release.privateKeyPem });
    const before = await verify(dir, { release, qa }, ['release', 'qa']);
    expect(before.passed).toBe(false);
    expect(errors(before)).toEqual(['required key "qa" has no valid signature on this model']);

    await signModel({ modelPath: dir, privateKeyPem: qa.privateKeyPem, output: join(dir, 'qa.sig') });
    const after = await verify(dir, { release, qa }, ['release', 'qa']);
    expect(errors(after)).toEqual([]);
    expect(after.passed).toBe(true);
    expect(after.verifiedKeys).toEqual(['qa', 'release']);
  });

  it('fails on a tampered DSSE payload even when the tampered statement matches the files', async () => {
    const dir = await modelDir();
    await signModel({ modelPath: dir, privateKeyPem: release.privateKeyPem });
    // The attacker swaps the model and rewrites the statement to the new digests, keeping the
    // old signature: only the cryptographic check can notice.
    await copyFile(IRIS_V2, join(dir, 'model.onnx'));
    const sigPath = join(dir, 'model.sig');
    const bundle = JSON.parse(await readFile(sigPath, 'utf8'));
    const statement = JSON.parse(Buffer.from(bundle.dsseEnvelope.payload, 'base64').toString('utf8'));
    const newDigest = sha256(await readFile(IRIS_V2));
    statement.predicate.resources[0].digest = newDigest;
    statement.subject[0].digest.sha256 = sha256(Buffer.from(newDigest, 'hex'));
    bundle.dsseEnvelope.payload = Buffer.from(JSON.stringify(statement)).toString('base64');
    await writeFile(sigPath, JSON.stringify(bundle));

    const report = await verify(dir);
    expect(report.passed).toBe(false);
    expect(errors(report)[0]).toBe(
      `model.sig: the signature does not verify with trusted key "release" (${release.keyId.slice(0, 16)}…): the signed payload or the signature was altered`,
    );
  });

  it('fails on a signed statement whose subject does not match its resources', async () => {
    const dir = await modelDir();
    const digest = await digestModelDirectory(dir);
    const statement = {
      _type: 'https://in-toto.io/Statement/v1',
      subject: [{ name: 'model', digest: { sha256: '0'.repeat(64) } }],
      predicateType: MODEL_SIGNATURE_PREDICATE_TYPE,
      predicate: {
        serialization: { method: 'files', hash_type: 'sha256', allow_symlinks: false },
        resources: digest.files.map((f) => ({ name: f.path, algorithm: 'sha256', digest: f.sha256 })),
      },
    };
    await writeFile(
      join(dir, 'model.sig'),
      JSON.stringify(await signStatement(statement, release.privateKeyPem)),
    );
    const report = await verify(dir);
    expect(report.passed).toBe(false);
    expect(errors(report)[0]).toMatch(
      /^model\.sig: signed by "release" .*subject digest 000000000000… does not match its resources/,
    );
  });

  it('refuses a signed statement that names a path outside the model', async () => {
    const dir = await modelDir();
    const statement = {
      _type: 'https://in-toto.io/Statement/v1',
      subject: [{ name: 'model', digest: { sha256: sha256(Buffer.from('a'.repeat(64), 'hex')) } }],
      predicateType: MODEL_SIGNATURE_PREDICATE_TYPE,
      predicate: {
        serialization: { method: 'files', hash_type: 'sha256', allow_symlinks: false },
        resources: [{ name: '../model.onnx', algorithm: 'sha256', digest: 'a'.repeat(64) }],
      },
    };
    await writeFile(
      join(dir, 'model.sig'),
      JSON.stringify(await signStatement(statement, release.privateKeyPem)),
    );
    const report = await verify(dir);
    expect(errors(report)[0]).toContain('predicate.resources.0.name: "../model.onnx": ".." path component');
  });

  it('fails when the directory has no signature, or the signature is not a bundle', async () => {
    const dir = await modelDir();
    const unsigned = await verify(dir);
    expect(unsigned.passed).toBe(false);
    expect(errors(unsigned)[0]).toBe(
      `no signature file (*.sig) in ${dir}; sign the model with \`modelship sign\``,
    );

    await writeFile(join(dir, 'model.sig'), 'not json');
    const garbage = await verify(dir);
    expect(errors(garbage)[0]).toMatch(/^model\.sig: not JSON \(/);
  });

  it('fails on a symbolic link placed in a signed directory', async () => {
    const dir = await modelDir();
    await signModel({ modelPath: dir, privateKeyPem: release.privateKeyPem });
    await symlink('model.onnx', join(dir, 'alias.onnx'));
    const report = await verify(dir);
    expect(report.passed).toBe(false);
    expect(errors(report)).toEqual(['alias.onnx: symbolic link (not allowed in a signed model)']);
  });

  it('refuses to overwrite a signature, or to write one where it would be signed itself', async () => {
    const dir = await modelDir();
    await signModel({ modelPath: dir, privateKeyPem: release.privateKeyPem });
    await expect(signModel({ modelPath: dir, privateKeyPem: qa.privateKeyPem })).rejects.toThrow(
      /model\.sig already exists/,
    );
    await expect(
      signModel({ modelPath: dir, privateKeyPem: qa.privateKeyPem, output: join(dir, 'sigs', 'qa.sig') }),
    ).rejects.toThrow(/must be a top-level <name>\.sig file/);
    // The existing signature was left as it was.
    expect((await verify(dir)).passed).toBe(true);
  });
});

describe('statement bundles', () => {
  const statement = {
    _type: 'https://in-toto.io/Statement/v1',
    subject: [{ name: 'sbom.cdx.json', digest: { sha256: 'b'.repeat(64) } }],
    predicateType: 'https://cyclonedx.org/bom',
    predicate: { bomFormat: 'CycloneDX', specVersion: '1.6' },
  };

  it('round-trips a statement through sign and verify', async () => {
    const bundle = await signStatement(statement, release.privateKeyPem);
    expect(verifyStatementBundle(JSON.stringify(bundle), release.publicKeyPem)).toEqual(statement);
    expect(verifyStatementBundle(bundle, release.publicKeyPem)).toEqual(statement);
  });

  it('refuses a bundle checked against another key, or with an altered payload', async () => {
    const bundle = await signStatement(statement, release.privateKeyPem);
    expect(() => verifyStatementBundle(bundle, qa.publicKeyPem)).toThrow(
      `signed by untrusted key ${release.keyId} (trusted keys: "given key" ${qa.keyId.slice(0, 16)}…)`,
    );
    const altered = JSON.parse(JSON.stringify(bundle));
    altered.dsseEnvelope.payload = Buffer.from(
      JSON.stringify({ ...statement, predicateType: 'https://slsa.dev/provenance/v1' }),
    ).toString('base64');
    expect(() => verifyStatementBundle(altered, release.publicKeyPem)).toThrow(
      /the signature does not verify with trusted key "given key" .*: the signed payload or the signature was altered/,
    );
  });

  it('refuses to sign something that is not an in-toto statement', async () => {
    await expect(signStatement({ hello: 'world' }, release.privateKeyPem)).rejects.toThrow(
      /not an in-toto Statement v1: _type: /,
    );
  });
});
