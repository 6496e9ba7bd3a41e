/**
 * Builds the corpus of hostile and broken inputs in `test/fixtures/hostile/` (committed):
 *
 * - `onnx/<case>/`: models the scan must refuse (path traversal and symlinked external data,
 *   custom domains, EPContext, oversized and deeply nested graphs, truncated protobuf, …);
 * - `signatures/<case>/`: signed model directories that must fail verification (a signature over
 *   other bytes, an extra file, an untrusted key, one byte changed), trusting only
 *   `test/fixtures/keys/hostile-test.pub`;
 * - `secrets/<case>/`: a spec with an embedded token, a key in model metadata, a token in a file
 *   beside the model.
 *
 * Each case has a `case.json`: `{ description, step, check, finding }`, where `finding` is a
 * substring of what the refusal must say. `test/workflows/hostile-corpus.test.ts` deploys every
 * case through DeployModel and checks it is refused at that step with that finding.
 *
 * Run: `npm run corpus:hostile`. Signatures are ECDSA (randomized), so a rebuild changes the
 * signature files' bytes but never what the cases mean.
 */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../worker/temporal-cli.ts';
import { buildOnnxCases } from './hostile-corpus/onnx.ts';
import { buildSecretCases } from './hostile-corpus/secrets.ts';
import { buildSignatureCases } from './hostile-corpus/signatures.ts';

export const HOSTILE_CORPUS_DIR = join(PROJECT_ROOT, 'test', 'fixtures', 'hostile');

const builders = { onnx: buildOnnxCases, signatures: buildSignatureCases, secrets: buildSecretCases };

for (const [group, build] of Object.entries(builders)) {
  const dir = join(HOSTILE_CORPUS_DIR, group);
  await rm(dir, { recursive: true, force: true });
  await build(dir);
  process.stderr.write(`hostile corpus: wrote ${dir}\n`);
}
