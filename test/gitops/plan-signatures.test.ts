/**
 * `plan` verifies the model directory's signatures as committed at head, so a pull request whose
 * model lost its required signature (or had a byte changed after signing) is flagged before merge.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { buildPlan } from '../../gitops/plan.ts';
import { sha256Hex } from '../../model/files.ts';
import { generateSigningKeyPair, signModel } from '../../supply-chain/signing/index.ts';
import type { TempRepo } from '../support/git-repo.ts';
import { createModelRepo, exampleSpecYaml, readerOf } from './helpers.ts';

const POLICY = `apiVersion: modelship.dev/v1
kind: EnvironmentPolicy
metadata: { environment: staging }
signatures:
  trustedKeys: { release: keys/release.pub }
  required: [release]
`;

let repo: TempRepo;
afterEach(async () => {
  await repo?.remove();
});

async function requiredRule(base: string, head: string) {
  const { plan } = await buildPlan({ reader: await readerOf(repo), base, head });
  const spec = plan.specs.find((entry) => entry.path === 'specs/iris.yaml');
  return spec?.policy?.results.find((result) => result.rule === 'signatures.required');
}

describe('plan and signatures', () => {
  it('passes a model signed by the required key and flags one changed after signing', async () => {
    repo = await createModelRepo();
    const release = generateSigningKeyPair();
    await repo.write('keys/release.pub', release.publicKeyPem);
    await repo.write('policies/staging.yaml', POLICY);
    const base = await repo.commit('policy and key');

    await signModel({ modelPath: join(repo.root, 'models/iris/v2'), privateKeyPem: release.privateKeyPem });
    await repo.write('specs/iris.yaml', exampleSpecYaml({ dataset: 'iris', version: 'v2' }));
    const signed = await repo.commit('signed v2');
    expect(await requiredRule(base, signed)).toMatchObject({
      passed: true,
      reason: 'signed by release, as staging requires',
    });

    const bytes = Uint8Array.from(await readFile(join(repo.root, 'models/iris/v2/model.onnx')));
    bytes[bytes.length - 1] = (bytes.at(-1) ?? 0) ^ 1;
    await repo.write('models/iris/v2/model.onnx', bytes);
    await repo.write(
      'specs/iris.yaml',
      exampleSpecYaml({ dataset: 'iris', version: 'v2', sha256: sha256Hex(bytes) }),
    );
    const changed = await repo.commit('one byte changed after signing');
    expect(await requiredRule(base, changed)).toMatchObject({
      passed: false,
      reason: 'the model is not signed by release, which staging requires (verified: none)',
    });
  });
});
