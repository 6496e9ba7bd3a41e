/**
 * Hostile-corpus cases for model signatures: model directories whose signature must be refused
 * by the scan step's signature check. Each case is `<outDir>/<case>/model/` (the iris v1 model
 * plus a `model.sig`) and `<outDir>/<case>/case.json` naming the expected finding.
 *
 * Signatures are made at build time with the committed TEST-ONLY keys under
 * `test/fixtures/keys/`; ECDSA signatures are randomised, so the bytes differ on every build
 * while the findings do not. A verifier of this corpus trusts `hostile-test.pub` (exported as
 * `HOSTILE_SIGNATURE_TRUSTED_KEY`) and nothing else.
 */
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { keyIdOf, loadPublicKey } from '../../supply-chain/signing/keys.ts';
import { signModel } from '../../supply-chain/signing/sign-model.ts';

const repoFile = (path: string) => fileURLToPath(new URL(`../../${path}`, import.meta.url));

/** The one key a verifier of these cases trusts, under the name `hostile-test`. */
export const HOSTILE_SIGNATURE_TRUSTED_KEY = {
  name: 'hostile-test',
  publicKeyPath: repoFile('test/fixtures/keys/hostile-test.pub'),
};

const MODEL = repoFile('models/iris/v1/model.onnx');
const OTHER_MODEL = repoFile('models/iris/v2/model.onnx');
const TRUSTED_PRIVATE_KEY = repoFile('test/fixtures/keys/hostile-test.key');
const UNTRUSTED_PRIVATE_KEY = repoFile('test/fixtures/keys/untrusted-test.key');
const UNTRUSTED_PUBLIC_KEY = repoFile('test/fixtures/keys/untrusted-test.pub');

interface SignatureCase {
  description: string;
  finding: string;
  /** Builds `modelDir` (already holding model.onnx) into the hostile state. */
  build(modelDir: string): Promise<void>;
}

const CASES: Record<string, () => Promise<SignatureCase>> = {
  'signature-over-other-bytes': async () => ({
    description:
      'A genuine signature by the trusted key, but made over another model (iris v2) and copied next to iris v1.',
    finding: 'model.onnx differs from signature model.sig',
    async build(modelDir) {
      const staging = await mkdtemp(join(tmpdir(), 'modelship-hostile-sig-'));
      try {
        const other = join(staging, 'model');
        await mkdir(other);
        await cp(OTHER_MODEL, join(other, 'model.onnx'));
        await signWith(TRUSTED_PRIVATE_KEY, other);
        await cp(join(other, 'model.sig'), join(modelDir, 'model.sig'));
      } finally {
        await rm(staging, { recursive: true, force: true });
      }
    },
  }),
  'bundle-extra-file': async () => ({
    description:
      'Signed by the trusted key, then a file the signature does not list was added beside the model.',
    finding: 'unlisted file extra.bin',
    async build(modelDir) {
      await signWith(TRUSTED_PRIVATE_KEY, modelDir);
      await writeFile(join(modelDir, 'extra.bin'), Buffer.from('not part of the signed model\n'));
    },
  }),
  'untrusted-key': async () => {
    const untrustedKeyId = keyIdOf(loadPublicKey(await readFile(UNTRUSTED_PUBLIC_KEY, 'utf8')));
    return {
      description: 'A well-formed signature over the exact model bytes, made with a key nobody trusts.',
      finding: `signed by untrusted key ${untrustedKeyId}`,
      async build(modelDir) {
        await signWith(UNTRUSTED_PRIVATE_KEY, modelDir);
      },
    };
  },
  'one-byte-changed': async () => ({
    description:
      'Signed by the trusted key, then one byte of the producer name changed: the ONNX file stays valid, only the signature catches it.',
    finding: 'model.onnx differs from signature model.sig',
    async build(modelDir) {
      await signWith(TRUSTED_PRIVATE_KEY, modelDir);
      const path = join(modelDir, 'model.onnx');
      const bytes = await readFile(path);
      const at = bytes.indexOf('skl2onnx');
      if (at < 0)
        throw new Error(`${MODEL}: producer name "skl2onnx" not found; pick another byte to change`);
      bytes[at] = 'S'.charCodeAt(0);
      await writeFile(path, bytes);
    },
  }),
};

/** Writes every signature case under `outDir/<case>/`. */
export async function buildSignatureCases(outDir: string): Promise<void> {
  for (const [name, define] of Object.entries(CASES)) {
    const spec = await define();
    const caseDir = join(outDir, name);
    const modelDir = join(caseDir, 'model');
    await rm(caseDir, { recursive: true, force: true });
    await mkdir(modelDir, { recursive: true });
    await cp(MODEL, join(modelDir, 'model.onnx'));
    await spec.build(modelDir);
    const caseJson = {
      description: spec.description,
      step: 'scan',
      check: 'signature',
      finding: spec.finding,
    };
    await writeFile(join(caseDir, 'case.json'), `${JSON.stringify(caseJson, null, 2)}\n`);
  }
}

async function signWith(privateKeyPath: string, modelDir: string): Promise<void> {
  await signModel({ modelPath: modelDir, privateKeyPem: await readFile(privateKeyPath, 'utf8') });
}
