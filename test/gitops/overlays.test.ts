/**
 * Environment overlays through Git: `plan` on a real repository whose staging and production
 * specs extend one base, and `promote` rewriting production's overlay (never the shared base).
 * What a reviewer notices: a base change re-plans every environment it reaches, an error in the
 * base is reported at its line in the base, and what deploys is the effective spec.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openAuditStore } from '../../audit/open.ts';
import type { AuditStore } from '../../audit/store.ts';
import { buildPlan, type Plan } from '../../gitops/plan.ts';
import { renderPlanMarkdown } from '../../gitops/plan-markdown.ts';
import { PromoteError, promote } from '../../gitops/promote.ts';
import { specDigest } from '../../gitops/spec-digest.ts';
import { effectiveTextAt } from '../../gitops/spec-fields.ts';
import { verifiedRecordsOf } from '../../release/verified-records.ts';
import { parseSpec } from '../../specs/parse.ts';
import { repoFileReader } from '../../specs/parse-file.ts';
import type { TempRepo } from '../support/git-repo.ts';
import { committedDigest } from '../support/model-catalog.ts';
import { createModelRepo, exampleSpecYaml, readerOf } from './helpers.ts';

const V1 = committedDigest('models/iris/v1/model.onnx');
const V2 = committedDigest('models/iris/v2/model.onnx');

/** The shared part: everything of a spec but its rollout. */
const BASE = exampleSpecYaml({ dataset: 'iris', version: 'v1' })
  .replace('kind: ModelDeployment', 'kind: ModelDeploymentBase')
  .replace(/ {2}rollout:[\s\S]*$/, '');

const STAGING = `apiVersion: modelship.dev/v1
kind: ModelDeployment
extends: specs/iris/base.yaml
spec:
  rollout:
    environment: staging
    steps: [{ setWeight: 50 }, { setWeight: 100 }]
`;

const PRODUCTION = `apiVersion: modelship.dev/v1
kind: ModelDeployment
extends: specs/iris/base.yaml
spec:
  model:
    source: models/iris/v1/model.onnx
    sha256: ${V1}
  promotion:
    from: staging
  rollout:
    environment: production
    steps:
      - setWeight: 10
      - analysis: { duration: 1m }
      - approval: { approvers: [release-managers] }
      - setWeight: 100
`;

let repo: TempRepo;
let first: string;
let scratch: string;
let audit: AuditStore;

async function plan(base: string, head: string): Promise<Plan> {
  return (await buildPlan({ reader: await readerOf(repo), base, head })).plan;
}

beforeAll(async () => {
  repo = await createModelRepo();
  await repo.write('specs/iris/base.yaml', BASE);
  await repo.write('specs/iris/staging.yaml', STAGING);
  await repo.write('specs/iris/production.yaml', PRODUCTION);
  first = await repo.commit('iris in staging and production over one base');
  scratch = await mkdtemp(join(tmpdir(), 'modelship-overlays-'));
  audit = await openAuditStore(join(scratch, 'home'));
});

afterAll(async () => {
  await audit?.close();
  await repo?.remove();
  await rm(scratch, { recursive: true, force: true });
});

describe('plan of specs over a base', () => {
  it('plans each environment, not the base, and deploys the effective spec', async () => {
    const result = await buildPlan({ reader: await readerOf(repo), base: '0'.repeat(40), head: first });
    const { specs } = result.plan;
    expect(specs.map((spec) => [spec.path, spec.verdict])).toEqual([
      ['specs/iris/production.yaml', 'ok'],
      ['specs/iris/staging.yaml', 'ok'],
    ]);
    const staging = result.deployable.find((spec) => spec.path === 'specs/iris/staging.yaml');
    expect(staging?.spec.spec.model.sha256).toBe(V1);
    // The worker gets plain spec text: the merge, with no `extends:` left to resolve.
    expect(staging?.specText).toContain('# modelship: a spec over its base specs/iris/base.yaml');
    expect(staging?.specText).not.toContain('extends:');
    expect(staging?.specDigest).toBe(specDigest(staging?.specText ?? ''));
    const reparsed = parseSpec(staging?.specText ?? '');
    expect(reparsed.ok && reparsed.spec).toEqual(staging?.spec);
    // Reconcile reads every spec at a commit loosely (effectiveTextAt): the same digest as apply's,
    // or it would call an applied overlay undeployed.
    const reader = await readerOf(repo);
    for (const spec of result.deployable) {
      const written = await reader.readText(first, spec.path);
      expect(specDigest(await effectiveTextAt(reader, first, written))).toBe(spec.specDigest);
    }
  });

  it('re-plans the environments a base change reaches, and says which deploy something new', async () => {
    await repo.write(
      'specs/iris/base.yaml',
      BASE.replace(/v1\/model\.onnx\n(.*)sha256: \w+/, `v2/model.onnx\n$1sha256: ${V2}`),
    );
    const head = await repo.commit('iris v2 in the base');
    const result = await plan(first, head);
    const staging = result.specs.find((spec) => spec.path === 'specs/iris/staging.yaml');
    const production = result.specs.find((spec) => spec.path === 'specs/iris/production.yaml');
    expect(staging?.verdict).toBe('ok');
    expect(staging?.rollout?.model.sha256).toBe(V2);
    expect(staging?.rollout?.previous?.sha256).toBe(V1);
    expect(staging?.notes.join('\n')).toContain(
      'its base changed (specs/iris/base.yaml): the effective spec is new',
    );
    // Production pins its own artifact: the base's new model does not reach it.
    expect(production?.rollout?.model.sha256).toBe(V1);
    expect(production?.notes.join('\n')).toContain('but not in anything this spec deploys');
    first = head;
  });

  it('reports an error of the base at its line in the base, for every spec over it', async () => {
    await repo.write('specs/iris/base.yaml', BASE.replace('  validation:', '  validaton:'));
    const head = await repo.commit('a typo in the base');
    const result = await plan(first, head);
    expect(result.specs.map((spec) => spec.verdict)).toEqual(['invalid', 'invalid']);
    const line = BASE.split('\n').indexOf('  validation:') + 1;
    for (const spec of result.specs) {
      expect(spec.errors).toContainEqual(
        expect.objectContaining({ file: 'specs/iris/base.yaml', line, column: 3, path: 'spec.validaton' }),
      );
    }
    expect(renderPlanMarkdown(result)).toContain(`specs/iris/base.yaml:${line}:3`);
    await repo.write(
      'specs/iris/base.yaml',
      BASE.replace(/v1\/model\.onnx\n(.*)sha256: \w+/, `v2/model.onnx\n$1sha256: ${V2}`),
    );
    first = await repo.commit('typo fixed');
  });
});

describe('promote onto a spec over a base', () => {
  it("rewrites the target environment's overlay and leaves the shared base alone", async () => {
    await audit.append({
      time: new Date(Date.now() - 3_600_000).toISOString(),
      kind: 'workflow.decision',
      model: 'iris',
      environment: 'staging',
      commit: first,
      workflowId: 'deploy/staging/iris',
      runId: 'run-1',
      step: 'deployment.serving',
      actor: 'workflow',
      details: { version: 'bbbbbbbbbbbb', artifactSha256: V2 },
    });
    const baseBefore = await readFile(join(repo.root, 'specs/iris/base.yaml'), 'utf8');
    const result = await promote({
      root: repo.root,
      specsDir: 'specs',
      model: 'iris',
      from: 'staging',
      to: 'production',
      records: await verifiedRecordsOf(audit, 'iris'),
      now: new Date(),
    });
    expect(result.specPath).toBe('specs/iris/production.yaml');
    expect(result.artifact).toEqual({ source: 'models/iris/v2/model.onnx', sha256: V2 });
    expect(await readFile(join(repo.root, 'specs/iris/base.yaml'), 'utf8')).toBe(baseBefore);
    const written = await readFile(join(repo.root, 'specs/iris/production.yaml'), 'utf8');
    expect(written).toContain('extends: specs/iris/base.yaml');
    expect(written).toContain(`sha256: ${V2}`);
    const effective = parseSpec(written, { file: 'production.yaml', readFile: repoFileReader(repo.root) });
    expect(effective.ok && effective.spec.spec.model.sha256).toBe(V2);
  });

  it('gives an overlay that inherits its model a spec.model of its own', async () => {
    await repo.write('specs/iris/production.yaml', PRODUCTION.replace(/ {2}model:\n.*\n.*\n/, ''));
    await repo.write('specs/iris/base.yaml', BASE);
    await repo.commit('production inherits v1 from the base');
    await promote({
      root: repo.root,
      specsDir: 'specs',
      model: 'iris',
      from: 'staging',
      to: 'production',
      records: await verifiedRecordsOf(audit, 'iris'),
      now: new Date(),
      artifactSha256: V2,
      artifactSource: 'models/iris/v2/model.onnx',
    });
    const written = await readFile(join(repo.root, 'specs/iris/production.yaml'), 'utf8');
    expect(written).toMatch(/spec:\n(.|\n)*model:\n\s+source: models\/iris\/v2\/model\.onnx\n\s+sha256: /);
    expect(await readFile(join(repo.root, 'specs/iris/base.yaml'), 'utf8')).toBe(BASE);
  });

  it('refuses an artifact that never served in the source environment', async () => {
    const failure = await promote({
      root: repo.root,
      specsDir: 'specs',
      model: 'iris',
      from: 'staging',
      to: 'production',
      records: await verifiedRecordsOf(audit, 'iris'),
      now: new Date(),
      artifactSha256: 'f'.repeat(64),
      artifactSource: 'models/iris/v2/model.onnx',
    }).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(PromoteError);
    expect((failure as Error).message).toContain('did not pass staging');
  });
});
