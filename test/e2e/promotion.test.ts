/**
 * From one environment to the next on evidence, with real parts: a real Temporal dev server and worker,
 * iris deployed from a real Git repository, the real data plane and audit log. Dev and staging
 * are two specs over one base (environment overlays), and staging's takes only what passed dev: an artifact never served in dev is refused, `promote`
 * writes the commit that moves the passed one, and the deployment of that commit carries the
 * evidence. An artifact its monitor rolled back is quarantined: deploying it again is refused,
 * until `modelship quarantine lift` says why it may come back.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadDeploymentInput } from '../../cli/start-deployment.ts';
import { PromoteError, promote } from '../../gitops/promote.ts';
import { revertToServing } from '../../gitops/revert.ts';
import { startDeployment } from '../../gitops/start-deployment.ts';
import { verifiedRecordsOf } from '../../release/verified-records.ts';
import { createTempRepo, type TempRepo } from '../support/git-repo.ts';
import { feedMostlyWrongLabels, predictIris } from '../support/iris-feedback.ts';
import { committedDigest, exampleSpecYaml } from '../support/model-catalog.ts';
import { runModelship } from '../support/modelship-cli.ts';
import { startTestStack, type TestStack } from '../support/test-stack.ts';

let stack: TestStack;
const repos: TempRepo[] = [];

beforeAll(async () => {
  stack = await startTestStack('promotion');
});

afterAll(async () => {
  await stack?.stop();
  await Promise.all(repos.map((repo) => repo.remove()));
});

const V1 = committedDigest('models/iris/v1/model.onnx');
const V2 = committedDigest('models/iris/v2/model.onnx');

async function repoWithModels(): Promise<TempRepo> {
  const repo = await createTempRepo();
  repos.push(repo);
  await repo.copyFromProject('models/iris/v1/model.onnx');
  await repo.copyFromProject('models/iris/v2/model.onnx');
  await repo.copyFromProject('models/iris/holdout.csv');
  return repo;
}

/** Writes the spec of `model` for `environment` at `path`; `extra` is YAML under `spec:`. */
async function writeSpec(
  repo: TempRepo,
  options: { model: string; environment: string; version: 'v1' | 'v2'; extra?: string },
): Promise<string> {
  const path = `specs/${options.model}-${options.environment}.yaml`;
  await repo.write(
    path,
    exampleSpecYaml({
      name: options.model,
      dataset: 'iris',
      version: options.version,
      environment: options.environment,
      steps: ['setWeight: 100'],
      postPromotionWindow: '1s',
      analysis: options.extra ?? '',
    }),
  );
  return path;
}

async function deploy(repo: TempRepo, specPath: string) {
  const handle = await startDeployment(
    stack.client,
    stack.taskQueue,
    await loadDeploymentInput(join(repo.root, specPath)),
  );
  return handle.result();
}

const PROMOTION = (minSoak: string) => `  promotion:\n    from: dev\n    minSoak: ${minSoak}\n`;

/**
 * iris over one base: the base is the whole spec for dev (model `base`), and staging's spec
 * overrides only its model, its environment and what it takes (promotion from dev).
 */
async function writeOverlays(
  repo: TempRepo,
  options: { model: string; base: 'v1' | 'v2'; staging: 'v1' | 'v2'; minSoak: string },
): Promise<{ base: string; dev: string; staging: string }> {
  const dir = `specs/${options.model}`;
  const paths = { base: `${dir}/base.yaml`, dev: `${dir}/dev.yaml`, staging: `${dir}/staging.yaml` };
  const base = exampleSpecYaml({
    name: options.model,
    dataset: 'iris',
    version: options.base,
    environment: 'dev',
    steps: ['setWeight: 100'],
    postPromotionWindow: '1s',
  }).replace('kind: ModelDeployment', 'kind: ModelDeploymentBase');
  const head = `apiVersion: modelship.dev/v1\nkind: ModelDeployment\nextends: ${paths.base}\n`;
  const model = `models/iris/${options.staging}/model.onnx`;
  await repo.write(paths.base, base);
  await repo.write(paths.dev, head);
  await repo.write(
    paths.staging,
    `${head}spec:\n  model:\n    source: ${model}\n    sha256: ${committedDigest(model)}\n${PROMOTION(options.minSoak)}  rollout:\n    environment: staging\n`,
  );
  return paths;
}

// dev to staging: production's default policy also asks for a verified origin (an OIDC token
// from CI), which is beside the point here.
describe('promotion between environments', () => {
  it('refuses what never passed dev, and deploys what promote commits, with the evidence', async () => {
    const model = 'iris-promo';
    const repo = await repoWithModels();
    const { base, dev, staging } = await writeOverlays(repo, {
      model,
      base: 'v1',
      staging: 'v2',
      minSoak: '0s',
    });
    await repo.commit('iris in dev and staging, over one base');
    const baseText = await readFile(join(repo.root, base), 'utf8');

    expect((await deploy(repo, dev)).outcome).toBe('serving');
    // Staging names v2, which dev never served: refused before any work is done.
    const refused = await deploy(repo, staging);
    expect(refused.outcome).toBe('rejected');
    expect(refused.rejection).toMatchObject({ type: 'PromotionRefused', step: 'resolving' });
    expect(refused.rejection?.message).toContain(
      `artifact sha256:${V2.slice(0, 12)} never served all traffic in dev`,
    );

    // promote takes what dev names (v1), judges it, and commits the staging spec on a branch.
    const records = async () => verifiedRecordsOf(stack.audit, model);
    const lines: string[] = [];
    const promoted = await promote({
      root: repo.root,
      specsDir: 'specs',
      model,
      from: 'dev',
      to: 'staging',
      records: await records(),
      now: new Date(),
      branch: 'promote-iris-v1',
      out: (line) => lines.push(line),
    });
    expect(promoted).toMatchObject({
      specPath: staging,
      artifact: { sha256: V1 },
      branch: 'promote-iris-v1',
    });
    expect(lines.join('\n')).toContain('passed dev: version');
    const message = await repo.git.raw(['log', '-1', '--format=%B']);
    expect(message).toContain(`promote ${model} sha256:${V1.slice(0, 12)} from dev to staging`);
    expect(message).toContain(`Modelship-Artifact: sha256:${V1}`);
    const spec = await readFile(join(repo.root, staging), 'utf8');
    expect(spec).toContain(`sha256: ${V1}`);
    expect(spec).toContain('source: models/iris/v1/model.onnx');
    // The rest of the spec is as it was, the promotion block included; the shared base is untouched.
    expect(spec).toContain('from: dev');
    expect(spec).toContain(`extends: ${base}`);
    expect(await readFile(join(repo.root, base), 'utf8')).toBe(baseText);

    // One data plane serves both environments here, so staging's v1 replaces dev's in a rollout.
    const served = await deploy(repo, staging);
    expect(served.outcome).toBe('promoted');
    const evidence = (await stack.audit.list({ model, environment: 'staging' })).find(
      (record) => record.step === 'promotion.evidence',
    );
    expect(evidence?.details).toMatchObject({ from: 'dev', artifactSha256: V1 });

    // A soak dev has not had yet: promote refuses, and says how long v2 served there. v2 goes
    // into the base: dev takes it, staging keeps the v1 its own spec pins.
    await writeOverlays(repo, { model, base: 'v2', staging: 'v1', minSoak: '1h' });
    await repo.commit('v2 to dev; staging asks for an hour');
    expect((await deploy(repo, dev)).outcome).toBe('promoted');
    const young = await promote({
      root: repo.root,
      specsDir: 'specs',
      model,
      from: 'dev',
      to: 'staging',
      records: await records(),
      now: new Date(),
    }).catch((error: unknown) => error);
    expect(young).toBeInstanceOf(PromoteError);
    expect((young as Error).message).toMatch(/served in dev for \d+s so far, less than the 1h/);
  });
});

describe('quarantine', () => {
  it('refuses an artifact its monitor rolled back until someone lifts the quarantine with a reason', async () => {
    const model = 'iris-quarantine';
    const repo = await repoWithModels();
    const staging = await writeSpec(repo, { model, environment: 'staging', version: 'v1' });
    await repo.commit('v1');
    expect((await deploy(repo, staging)).outcome).toBe('serving');
    const monitoring = `  monitoring:
    interval: 500ms
    checks:
      inputDrift: false
      predictionDrift: false
      performance: { accuracy: { min: 0.9 } }
    actions: { rollback: true }
`;
    await writeSpec(repo, { model, environment: 'staging', version: 'v2', extra: monitoring });
    await repo.commit('v2, watched');
    expect((await deploy(repo, staging)).outcome).toBe('promoted');
    await feedMostlyWrongLabels(stack.dataPlane, model, await predictIris(stack.dataPlane.url, model, 300));
    const monitor = stack.client.workflow.getHandle(`monitor/staging/${model}`);
    expect(await monitor.result()).toMatchObject({ outcome: 'rolled-back' });

    // The same artifact again, from a new commit: refused, naming the rollback and the way out.
    await repo.write(
      staging,
      (await readFile(join(repo.root, staging), 'utf8')).replace(
        'owners: [ml-platform]',
        'owners: [ml-platform, ops]',
      ),
    );
    await repo.commit('v2 again');
    const again = await deploy(repo, staging);
    expect(again.outcome).toBe('rejected');
    expect(again.rejection?.type).toBe('Quarantined');
    expect(again.rejection?.message).toContain(`artifact sha256:${V2.slice(0, 12)} is quarantined`);
    expect(again.rejection?.message).toContain(`modelship quarantine lift ${model} ${V2}`);

    // Git still names v2; revert sets it back to v1, which the data plane serves.
    const reverted = await revertToServing({
      root: repo.root,
      specsDir: 'specs',
      model,
      environment: 'staging',
      records: await verifiedRecordsOf(stack.audit, model),
    });
    expect(reverted).toMatchObject({ specPath: staging, artifact: { sha256: V1 }, was: { sha256: V2 } });
    expect(reverted.artifact.source).toBe('models/iris/v1/model.onnx');
    expect(reverted.commit).toBe(await repo.git.revparse(['HEAD']));
    // The restored version runs unwatched until a rollout serves it: the revert's rollout does,
    // and a monitor watches that version again.
    const restored = await deploy(repo, staging);
    expect(restored.outcome).toBe('promoted');
    const watching = await stack.client.workflow
      .getHandle(`monitor/staging/${model}`)
      .query<{ version: string; state: string }>('monitorStatus');
    expect(watching.version).toBe(restored.dataPlane?.version);

    const env = { MODELSHIP_HOME: stack.home, MODELSHIP_AUDIT_URL: '' };
    const listed = await runModelship(['quarantine', 'list', model], { cwd: repo.root, env });
    expect(listed.status).toBe(0);
    expect(listed.stdout).toContain(`QUARANTINED sha256:${V2}`);
    const tooShort = await runModelship(['quarantine', 'lift', model, V2, '--reason', 'ok'], {
      cwd: repo.root,
      env,
    });
    expect(tooShort.status).toBe(2);
    expect(tooShort.stderr).toContain('--reason must say why');
    const lifted = await runModelship(
      ['quarantine', 'lift', model, V2, '--reason', 'the labels came from a broken join', '--by', 'alice'],
      { cwd: repo.root, env },
    );
    expect(lifted.stderr).toBe('');
    expect(lifted.status).toBe(0);
    const record = (await stack.audit.list({ model })).find((r) => r.step === 'quarantine.lifted');
    expect(record).toMatchObject({ actor: 'alice', details: { artifactSha256: V2 } });

    await writeSpec(repo, { model, environment: 'staging', version: 'v2', extra: monitoring });
    await repo.commit('v2 once more');
    expect((await deploy(repo, staging)).outcome).toBe('promoted');
    // Git and the data plane agree again: nothing to revert.
    const agreed = await runModelship(['revert', model, '--env', 'staging', '--json'], {
      cwd: repo.root,
      env,
    });
    expect(agreed.status).toBe(0);
    expect(JSON.parse(agreed.stdout)).toMatchObject({ unchanged: true, artifact: { sha256: V2 } });
  });
});
