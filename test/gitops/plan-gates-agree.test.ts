/**
 * `plan` and the workflow decide with one gate set (`supply-chain/gates/`), so they cannot
 * disagree. Each case below is a real repository whose head differs from a passing control in
 * ONE gate; `plan` must refuse it with that gate and finding, and the activities the workflow
 * runs (resolveArtifact, verifySupplyChain, scanModel, in its order and with the limits it
 * passes on, and the combined checkShipGates) must refuse it with the same gate's failure type
 * and the same finding. The control passes both.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ApplicationFailure } from '@temporalio/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createArtifactActivities, createArtifactStore } from '../../activities/artifact.ts';
import { createScanActivities } from '../../activities/scan.ts';
import { gitSourceTrees } from '../../activities/source-tree.ts';
import { createSupplyChainActivities } from '../../activities/supply-chain.ts';
import type { DeploymentRef } from '../../domain/deployment.ts';
import { buildPlan, type SpecPlan } from '../../gitops/plan.ts';
import { sha256Hex } from '../../model/files.ts';
import type { ScanLimits } from '../../model/scan.ts';
import { GitCheckouts } from '../../sources/git/checkouts.ts';
import { parseSpec } from '../../specs/parse.ts';
import { GATE_FAILURE_TYPE, type ShipGateName } from '../../supply-chain/gates/evaluate.ts';
import { generateSigningKeyPair, signModel } from '../../supply-chain/signing/index.ts';
import { tempDir } from '../activities/support.ts';
import type { TempRepo } from '../support/git-repo.ts';
import { committedDigest } from '../support/model-catalog.ts';
import { repoPath } from '../support/paths.ts';
import { createModelRepo, exampleSpecYaml, readerOf } from './helpers.ts';

const SPEC = 'specs/iris.yaml';
const release = generateSigningKeyPair();
const rogue = generateSigningKeyPair();

function policy(lines: string[] = []): string {
  return [
    'apiVersion: modelship.dev/v1',
    'kind: EnvironmentPolicy',
    'metadata: { environment: staging }',
    'signatures:',
    '  trustedKeys: { release: keys/release.pub }',
    ...lines,
    '',
  ].join('\n');
}

interface Case {
  name: string;
  /** The gate that must refuse, or undefined for the control. */
  gate?: ShipGateName;
  /** Text of the finding both must report (a part of the line). */
  finding?: RegExp;
  /** Writes the head commit's difference from the control. */
  setup(repo: TempRepo): Promise<void>;
}

/** The control: iris v2, signed by the trusted release key, under a policy every gate judges. */
async function control(repo: TempRepo, options: { policy?: string[]; sign?: boolean } = {}) {
  await repo.write('keys/release.pub', release.publicKeyPem);
  await repo.write(
    'policies/staging.yaml',
    policy(options.policy ?? ['artifacts:', '  allowedSources: [models/**]', 'scan:', '  maxNodes: 10']),
  );
  if (options.sign ?? true) {
    await signModel({ modelPath: join(repo.root, 'models/iris/v2'), privateKeyPem: release.privateKeyPem });
  }
  await repo.write(SPEC, exampleSpecYaml({ dataset: 'iris', version: 'v2' }));
}

/** A spec deploying the committed model at `source` (its digest pinned as committed). */
async function specFor(repo: TempRepo, source: string) {
  const sha256 = sha256Hex(await readFile(join(repo.root, source)));
  await repo.write(
    SPEC,
    exampleSpecYaml({ dataset: 'iris', version: 'v2', sha256 }).replace('models/iris/v2/model.onnx', source),
  );
}

const IRIS_BYTES = (await readFile(repoPath('models/iris/v2/model.onnx'))).length;

const CASES: Case[] = [
  { name: 'the control', setup: (repo) => control(repo) },
  {
    name: 'a model over the policy maxNodes (under the default limit)',
    gate: 'scan',
    finding: /^limits: the model has 3 nodes \(main graph, subgraphs and functions\), over the limit of 2$/,
    setup: (repo) => control(repo, { policy: ['scan:', '  maxNodes: 2'] }),
  },
  {
    name: 'a model over the policy maxBytes (under the default limit)',
    gate: 'scan',
    finding: new RegExp(`size: the model file is ${IRIS_BYTES} bytes, over the 100-byte limit`),
    setup: (repo) => control(repo, { policy: ['scan:', '  maxBytes: 100'] }),
  },
  {
    name: 'a secret only in a text file beside the model',
    gate: 'secrets',
    finding: /models\/iris\/v2\/README\.md:\d+:\d+ {2}secret: .*\[@secretlint\/secretlint-rule-slack\]/,
    setup: async (repo) => {
      await repo.copyFromProject(
        'test/fixtures/hostile/secrets/bundle-text-file-with-secret/model/README.md',
        'models/iris/v2/README.md',
      );
      await control(repo);
    },
  },
  {
    name: 'a secret only in the model metadata',
    gate: 'secrets',
    finding: /model\.onnx#metadata_props\[\w+\]:\d+:\d+ {2}secret: .*\[@secretlint\/secretlint-rule-aws\]/,
    setup: async (repo) => {
      await control(repo, { sign: false });
      await repo.copyFromProject(
        'test/fixtures/hostile/secrets/model-key-in-metadata/model/model.onnx',
        'models/leaky/model.onnx',
      );
      await specFor(repo, 'models/leaky/model.onnx');
    },
  },
  {
    name: 'a signature by a key the policy does not trust',
    gate: 'signatures',
    finding: /model\.sig: signed by untrusted key [0-9a-f]{64}/,
    setup: async (repo) => {
      await control(repo, { sign: false });
      await signModel({ modelPath: join(repo.root, 'models/iris/v2'), privateKeyPem: rogue.privateKeyPem });
    },
  },
  {
    name: 'a required key that did not sign',
    gate: 'signatures',
    finding: /no signature file \(\*\.sig\) in models\/iris\/v2/,
    setup: (repo) => control(repo, { sign: false, policy: ['  required: [release]'] }),
  },
  {
    name: 'a model source the policy does not allow',
    gate: 'policy',
    finding:
      /artifacts\.allowedSources: model source models\/iris\/v2\/model\.onnx is outside the sources staging allows/,
    setup: (repo) => control(repo, { policy: ['artifacts:', '  allowedSources: [models/approved/**]'] }),
  },
  {
    name: 'a validation floor above what the spec declares',
    gate: 'policy',
    finding: /validation\.accuracy: .*0\.85.*0\.95/,
    setup: (repo) => control(repo, { policy: ['validation:', '  accuracy: { min: 0.95 }'] }),
  },
  {
    name: 'a pinned digest that is not the committed model',
    gate: 'digest',
    finding: new RegExp(
      `the spec pins sha256 ${committedDigest('models/iris/v1/model.onnx')}, the bytes have sha256 ${committedDigest('models/iris/v2/model.onnx')}`,
    ),
    setup: async (repo) => {
      await control(repo);
      await repo.write(
        SPEC,
        exampleSpecYaml({
          dataset: 'iris',
          version: 'v2',
          sha256: committedDigest('models/iris/v1/model.onnx'),
        }),
      );
    },
  },
];

/** What `plan` says: the failed gates (the policy's as `policy`) and every finding line. */
function planGates(spec: SpecPlan): { failed: ShipGateName[]; lines: string[] } {
  const failed: ShipGateName[] = spec.checks
    .filter((check) => check.status === 'failed')
    .map((check) => check.name);
  const lines = spec.checks.flatMap((check) => check.findings ?? []);
  if (spec.policy?.results.some((result) => !result.passed)) failed.push('policy');
  lines.push(...(spec.policy?.results ?? []).map((result) => `${result.rule}: ${result.reason}`));
  return { failed, lines };
}

/** What the workflow's activities do with the head commit's checkout, in the workflow's order. */
async function workerOutcome(repo: TempRepo, home: string, commit: string) {
  const specText = await readFile(join(repo.root, SPEC), 'utf8');
  const parsed = parseSpec(specText, { file: SPEC });
  if (!parsed.ok) throw new Error(parsed.errors.map((error) => error.message).join('\n'));
  const { spec } = parsed;
  const deployment: DeploymentRef = {
    model: spec.metadata.name,
    environment: spec.spec.rollout.environment,
    commit,
    specPath: SPEC,
    repository: repo.root,
    author: { name: 'Test Author', email: 'author@example.com' },
  };
  // What a worker has: its own Git cache of the repository, fetching the commit on first need.
  const trees = gitSourceTrees(new GitCheckouts({ home }));
  const artifacts = createArtifactStore({ home, trees });
  const supplyChain = createSupplyChainActivities({ trees, artifacts });
  const refusal = (promise: Promise<unknown>) =>
    promise.then(
      () => undefined,
      (error: unknown) => error as ApplicationFailure,
    );
  const resolved = createArtifactActivities({ store: artifacts }).resolveArtifact({
    deployment,
    source: spec.spec.model.source,
    sha256: spec.spec.model.sha256,
  });
  const unresolved = await refusal(resolved);
  if (unresolved) return { failure: unresolved, combined: undefined };
  const artifact = await resolved;
  const pair = async () => {
    const report = await supplyChain.verifySupplyChain({ deployment, artifact, spec, specText });
    const limits = Object.fromEntries(
      Object.entries(report.scanLimits).filter(([, value]) => value !== undefined),
    ) as Partial<ScanLimits>;
    await createScanActivities({ artifacts }).scanModel({
      deployment,
      artifact,
      limits,
      ...(report.modelDir ? { modelDir: report.modelDir } : {}),
    });
  };
  return {
    failure: await refusal(pair()),
    // The combined activity, on the same stored artifact, must agree with the pair.
    combined: await refusal(supplyChain.checkShipGates({ deployment, artifact, spec, specText })),
  };
}

describe('plan and the workflow agree, gate by gate', () => {
  let home: Awaited<ReturnType<typeof tempDir>>;
  const repos: TempRepo[] = [];
  beforeAll(async () => {
    home = await tempDir('gates-agree');
  });
  afterAll(async () => {
    await Promise.all(repos.map((repo) => repo.remove()));
    await home.remove();
  });

  it.each(CASES.map((entry) => [entry.name, entry] as const))('%s', async (_, entry) => {
    const repo = await createModelRepo();
    repos.push(repo);
    await repo.write('README.md', 'a model repository\n');
    const base = await repo.commit('base');
    await entry.setup(repo);
    const head = await repo.commit(entry.name);

    const { plan } = await buildPlan({ reader: await readerOf(repo), base, head });
    const spec = plan.specs.find((candidate) => candidate.path === SPEC);
    if (spec === undefined) throw new Error('the plan has no entry for the spec');
    const planned = planGates(spec);
    // The working tree is not what plan reads; the worker reads the checkout of the same commit.
    const worker = await workerOutcome(repo, home.path, head);

    if (entry.gate === undefined) {
      expect(spec.verdict, planned.lines.join('\n')).toBe('ok');
      expect(worker.failure?.message).toBeUndefined();
      expect(worker.combined?.message).toBeUndefined();
      return;
    }
    expect(spec.verdict).toBe('invalid');
    expect(planned.failed).toContain(entry.gate);
    const finding = planned.lines.find((line) => entry.finding?.test(line));
    expect(finding, `plan's findings:\n${planned.lines.join('\n')}`).toBeDefined();

    expect(worker.failure?.type).toBe(GATE_FAILURE_TYPE[entry.gate]);
    // The same finding, word for word (for the digest, the artifact store's wording around it).
    const words = entry.gate === 'digest' ? (finding ?? '').replace(/^[^:]*: /, '') : (finding ?? '');
    expect(worker.failure?.message).toContain(words);
    if (entry.gate !== 'digest') {
      // checkShipGates runs after resolveArtifact, which the digest case never passes.
      expect(worker.combined?.type).toBe(GATE_FAILURE_TYPE[entry.gate]);
      expect(worker.combined?.message).toContain(words);
    }
  });
});
