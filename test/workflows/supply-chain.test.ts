/**
 * The supply-chain gates end to end, as a platform team would meet them: a model signed with the
 * release key is deployed under a policy that requires that key, and the same model with one byte
 * changed is refused; a rollout that breaks the environment's policy is flagged by `plan` before
 * merge and refused by the workflow after. Real git repositories, real keys, a real dev server.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadDeploymentInput } from '../../cli/start-deployment.ts';
import { CommitReader } from '../../gitops/git.ts';
import { buildPlan } from '../../gitops/plan.ts';
import { renderPlanMarkdown } from '../../gitops/plan-markdown.ts';
import { startDeployment } from '../../gitops/start-deployment.ts';
import { sha256Hex } from '../../model/files.ts';
import {
  generateSigningKeyPair,
  signModel,
  verifyStatementBundle,
} from '../../supply-chain/signing/index.ts';
import { statusQuery } from '../../workflows/messages.ts';
import { createTempRepo, type TempRepo } from '../support/git-repo.ts';
import { exampleSpecYaml } from '../support/model-catalog.ts';
import { startTestStack, type TestStack } from '../support/test-stack.ts';

let stack: TestStack;
const repos: TempRepo[] = [];

beforeAll(async () => {
  stack = await startTestStack('supply-chain');
});
afterAll(async () => {
  await stack?.stop();
  await Promise.all(repos.map((repo) => repo.remove()));
});

async function deploy(specFile: string) {
  const handle = await startDeployment(stack.client, stack.taskQueue, await loadDeploymentInput(specFile));
  return { handle, result: await handle.result() };
}

describe.concurrent('signed models under an environment policy', () => {
  it('deploys a model signed with the required key, and refuses it with one byte changed', async () => {
    const release = generateSigningKeyPair();
    const repo = await createTempRepo();
    repos.push(repo);
    await repo.copyFromProject('models/iris/v2/model.onnx');
    await repo.copyFromProject('models/iris/holdout.csv');
    await repo.write('keys/release.pub', release.publicKeyPem);
    await repo.write(
      'policies/staging.yaml',
      [
        'apiVersion: modelship.dev/v1',
        'kind: EnvironmentPolicy',
        'metadata: { environment: staging }',
        'signatures:',
        '  trustedKeys: { release: keys/release.pub }',
        '  required: [release]',
        '',
      ].join('\n'),
    );
    const signed = await signModel({
      modelPath: join(repo.root, 'models/iris/v2'),
      privateKeyPem: release.privateKeyPem,
    });
    expect(signed.signaturePath).toBe(join(repo.root, 'models/iris/v2/model.sig'));
    await repo.write(
      'specs/iris-signed.yaml',
      exampleSpecYaml({ name: 'iris-signed', dataset: 'iris', version: 'v2' }),
    );
    await repo.commit('signed iris v2');

    const { handle, result } = await deploy(join(repo.root, 'specs/iris-signed.yaml'));
    expect(result.outcome, result.rejection?.message).toBe('serving');
    const status = await handle.query(statusQuery);
    expect(status.signature).toMatch(/^verified: release \(1 file, root [0-9a-f]{12}…\)$/);
    expect(status.policy?.map((r) => [r.rule, r.passed])).toContainEqual(['signatures.required', true]);

    // The bundle's manifest keeps the verification, and its evidence verifies with the worker's key.
    const bundle = result.bundle?.path ?? '';
    const manifest = JSON.parse(await readFile(join(bundle, 'manifest.json'), 'utf8'));
    expect(manifest.supplyChain.signature.verifiedKeys).toEqual(['release']);
    expect(manifest.policy.results.every((r: { passed: boolean }) => r.passed)).toBe(true);
    expect(Object.keys(manifest.scanners)).toEqual(
      expect.arrayContaining([
        'modelship-onnx-scan',
        '@secretlint/core',
        '@secretlint/secretlint-rule-preset-recommend',
      ]),
    );
    const evidenceKey = await readFile(join(stack.home, 'keys', 'evidence.pub'), 'utf8');
    const provenance = verifyStatementBundle(
      await readFile(join(bundle, 'provenance.sigstore.json'), 'utf8'),
      evidenceKey,
    ) as unknown as { predicate: { buildDefinition: { externalParameters: { commit: string } } } };
    expect(provenance.predicate.buildDefinition.externalParameters.commit).toBe(result.commit);

    // One byte of the signed model changed (the spec re-pinned to the new bytes): refused.
    const bytes = await readFile(join(repo.root, 'models/iris/v2/model.onnx'));
    const tampered = Uint8Array.from(bytes);
    const at = bytes.indexOf(Buffer.from('skl2onnx'));
    tampered[at] = 'S'.charCodeAt(0);
    await repo.write('models/iris/v2/model.onnx', tampered);
    await repo.write(
      'specs/iris-signed.yaml',
      exampleSpecYaml({ name: 'iris-signed', dataset: 'iris', version: 'v2', sha256: sha256Hex(tampered) }),
    );
    await repo.commit('one byte changed');
    const second = await deploy(join(repo.root, 'specs/iris-signed.yaml'));
    expect(second.result.outcome).toBe('rejected');
    expect(second.result.rejection).toMatchObject({ step: 'scanning', type: 'SignatureInvalid' });
    expect(second.result.rejection?.message).toMatch(/model\.onnx differs from signature model\.sig/);
    // Nothing changed on the data plane: the signed version still serves.
    expect(second.result.dataPlane).toBeUndefined();
  });
});

describe.concurrent('a policy violation', () => {
  it('is shown by plan before merge and refused by the workflow after', async () => {
    const repo = await createTempRepo();
    repos.push(repo);
    await repo.copyFromProject('models/iris/v2/model.onnx');
    await repo.copyFromProject('models/iris/holdout.csv');
    await repo.write(
      'policies/staging.yaml',
      'apiVersion: modelship.dev/v1\nkind: EnvironmentPolicy\nmetadata: { environment: staging }\nrollout:\n  maxFirstCanaryWeight: 10\n',
    );
    const base = await repo.commit('policy');
    await repo.write(
      'specs/iris-greedy.yaml',
      exampleSpecYaml({
        name: 'iris-greedy',
        dataset: 'iris',
        version: 'v2',
        steps: ['setWeight: 50', 'analysis: { duration: 1m }', 'setWeight: 100'],
      }),
    );
    const head = await repo.commit('a 50 % first canary');

    const { plan } = await buildPlan({ reader: await CommitReader.open(repo.root), base, head });
    const markdown = renderPlanMarkdown(plan);
    expect(markdown).toContain('first canary weight 50 % is above the staging maximum of 10 %');

    const { result } = await deploy(join(repo.root, 'specs/iris-greedy.yaml'));
    expect(result.outcome).toBe('rejected');
    expect(result.rejection).toMatchObject({ step: 'scanning', type: 'PolicyViolation' });
    expect(result.rejection?.message).toContain('rollout.maxFirstCanaryWeight: first canary weight 50 %');
  });
});
