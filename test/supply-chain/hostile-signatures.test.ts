/**
 * The hostile corpus's signature cases: each built model directory must be refused by the
 * signature check with the finding its case.json names, while an honest signature by the same
 * trusted key passes (so a verifier that refused everything would fail here too).
 */
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InferenceSession } from 'onnxruntime-node';
import { afterAll, describe, expect, it } from 'vitest';
import {
  buildSignatureCases,
  HOSTILE_SIGNATURE_TRUSTED_KEY,
} from '../../scripts/hostile-corpus/signatures.ts';
import { signModel } from '../../supply-chain/signing/sign-model.ts';
import { verifyModelSignatures } from '../../supply-chain/signing/verify-model.ts';
import { repoPath } from '../support/paths.ts';

const corpus = await mkdtemp(join(tmpdir(), 'modelship-hostile-signatures-'));
afterAll(() => rm(corpus, { recursive: true, force: true }));
await buildSignatureCases(corpus);

const trustedKeys = {
  [HOSTILE_SIGNATURE_TRUSTED_KEY.name]: await readFile(HOSTILE_SIGNATURE_TRUSTED_KEY.publicKeyPath, 'utf8'),
};
const verify = (modelDir: string) =>
  verifyModelSignatures({ modelDir, trustedKeys, requiredKeys: [HOSTILE_SIGNATURE_TRUSTED_KEY.name] });

describe('hostile corpus: signatures', () => {
  it('builds the four cases, each a model directory and a case.json for the scan step', async () => {
    expect((await readdir(corpus)).sort()).toEqual([
      'bundle-extra-file',
      'one-byte-changed',
      'signature-over-other-bytes',
      'untrusted-key',
    ]);
  });

  it.each(['bundle-extra-file', 'one-byte-changed', 'signature-over-other-bytes', 'untrusted-key'])(
    '%s is refused with its finding',
    async (name) => {
      const spec = JSON.parse(await readFile(join(corpus, name, 'case.json'), 'utf8'));
      expect(spec).toMatchObject({ step: 'scan', check: 'signature' });
      expect(spec.description.length).toBeGreaterThan(20);
      const report = await verify(join(corpus, name, 'model'));
      expect(report.passed).toBe(false);
      const messages = report.findings.filter((f) => f.severity === 'error').map((f) => f.message);
      expect(messages.some((m) => m.includes(spec.finding))).toBe(true);
    },
  );

  it('one-byte-changed still loads in onnxruntime: only the signature catches it', async () => {
    const session = await InferenceSession.create(join(corpus, 'one-byte-changed', 'model', 'model.onnx'));
    try {
      expect(session.inputNames.length).toBeGreaterThan(0);
    } finally {
      await session.release();
    }
  });

  it('passes an honest signature by the same trusted key (the control)', async () => {
    const dir = join(corpus, 'control', 'model');
    await mkdir(dir, { recursive: true });
    await copyFile(repoPath('models/iris/v1/model.onnx'), join(dir, 'model.onnx'));
    await signModel({
      modelPath: dir,
      privateKeyPem: await readFile(repoPath('test/fixtures/keys/hostile-test.key'), 'utf8'),
    });
    const report = await verify(dir);
    expect(report.findings).toEqual([]);
    expect(report.passed).toBe(true);
  });
});
