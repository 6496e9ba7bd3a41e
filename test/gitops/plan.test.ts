/**
 * `plan` on real temporary repositories: the markdown a reviewer gets, the offline checks that
 * catch a wrong digest or a hostile model before merge, and the exit codes CI relies on.
 */
import { createHash } from 'node:crypto';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { buildPlan, type Plan } from '../../gitops/plan.ts';
import { renderPlanMarkdown } from '../../gitops/plan-markdown.ts';
import { customNode, graph, model } from '../activities/onnx-fixtures.ts';
import type { TempRepo } from '../support/git-repo.ts';
import { committedDigest } from '../support/model-catalog.ts';
import { createModelRepo, exampleSpecYaml, modelship, readerOf, withNamedCommits } from './helpers.ts';

let repo: TempRepo;
/** base: iris v1 and retired-model deployed. head: iris → v2, a new valid spec, an invalid one. */
let base: string;
let head: string;

const INVALID = `apiVersion: modelship.dev/v1
kind: ModelDeployment
metadata:
  name: Bad_Name
  owners: [ml-platform]
spec:
  model:
    source: models/iris/v9/model.onnx
    sha256: 1234
  rollout:
    environment: staging
    steps:
      - setWeight: 50
      - setWeight: 20
`;

async function plan(from: string, to: string): Promise<Plan> {
  return (await buildPlan({ reader: await readerOf(repo), base: from, head: to })).plan;
}

beforeAll(async () => {
  repo = await createModelRepo();
  await repo.write('specs/iris.yaml', exampleSpecYaml({ dataset: 'iris', version: 'v1' }));
  await repo.write(
    'specs/retired.yaml',
    exampleSpecYaml({ name: 'retired', dataset: 'iris', version: 'v1' }),
  );
  base = await repo.commit('base');
  await repo.write('specs/iris.yaml', exampleSpecYaml({ dataset: 'iris', version: 'v2' }));
  await repo.write(
    'specs/iris-prod.yaml',
    // Production's default policy requires four eyes, as the worker does: an approval before 100 %.
    exampleSpecYaml({
      name: 'iris',
      environment: 'production',
      dataset: 'iris',
      version: 'v2',
      steps: [
        'setWeight: 10',
        'analysis: { duration: 1m }',
        'approval: { approvers: [release-managers] }',
        'setWeight: 100',
      ],
    }),
  );
  await repo.write('specs/bad.yaml', INVALID);
  await repo.git.rm('specs/retired.yaml');
  head = await repo.commit('head');
});

afterAll(async () => {
  await repo?.remove();
});

describe('plan', () => {
  it('renders the markdown a reviewer reads', async () => {
    const markdown = renderPlanMarkdown(await plan(base, head));
    await expect(withNamedCommits(markdown, { base, head })).toMatchFileSnapshot('__snapshots__/plan.md');
  });

  it('summarises and gives every error its position', async () => {
    const result = await plan(base, head);
    expect(result.summary).toEqual({ changed: 4, ok: 2, invalid: 1, removed: 1 });
    const bad = result.specs.find((spec) => spec.path === 'specs/bad.yaml');
    expect(bad?.verdict).toBe('invalid');
    expect(bad?.errors.map(({ line, column, path }) => `${line}:${column} ${path}`)).toEqual([
      '4:9 metadata.name',
      '7:3 spec.interface',
      '7:3 spec.validation',
      '9:13 spec.model.sha256',
    ]);
    const iris = result.specs.find((spec) => spec.path === 'specs/iris.yaml');
    expect(iris?.rollout).toMatchObject({
      kind: 'update',
      model: { source: 'models/iris/v2/model.onnx' },
      previous: { source: 'models/iris/v1/model.onnx' },
      steps: ['setWeight 10%', 'analysis 1m: judge live metrics every 10s', 'setWeight 100%'],
    });
    expect(result.specs.find((spec) => spec.path === 'specs/iris-prod.yaml')?.rollout?.kind).toBe('new');
  });

  it('plans an unchanged pair of commits as nothing to do', async () => {
    const markdown = renderPlanMarkdown(await plan(head, head));
    expect(withNamedCommits(markdown, { head })).toMatchInlineSnapshot(`
      "## modelship plan: \`<head>\` → \`<head>\`

      **0 specs changed: 0 ok, 0 invalid**

      No ModelDeployment spec under \`specs/\` changed: \`apply\` would do nothing.
      "
    `);
  });
});

describe('plan offline checks', () => {
  let checksBase: string;
  let checksHead: string;
  beforeAll(async () => {
    checksBase = head;
    // A spec pointing at v2 but pinning v1's digest: what a forgotten `sha256sum` looks like.
    await repo.write(
      'specs/mispinned.yaml',
      exampleSpecYaml({
        name: 'mispinned',
        dataset: 'iris',
        version: 'v2',
        sha256: committedDigest('models/iris/v1/model.onnx'),
      }),
    );
    // A model whose graph calls an operator from a custom domain, pinned correctly.
    const hostile = model({ graph: graph({ nodes: [customNode('leak')] }) });
    await repo.write('models/iris/hostile/model.onnx', hostile);
    await repo.write(
      'specs/hostile.yaml',
      exampleSpecYaml({
        name: 'hostile',
        dataset: 'iris',
        version: 'hostile',
        sha256: createHash('sha256').update(hostile).digest('hex'),
      }),
    );
    await repo.git.rm('specs/bad.yaml');
    checksHead = await repo.commit('checks');
  });

  it('finds a pinned digest that does not match the committed model', async () => {
    const result = await plan(checksBase, checksHead);
    const spec = result.specs.find((entry) => entry.path === 'specs/mispinned.yaml');
    expect(spec?.verdict).toBe('invalid');
    expect(spec?.errors).toEqual([]);
    const finding = `models/iris/v2/model.onnx: the spec pins sha256 ${committedDigest('models/iris/v1/model.onnx')}, the bytes have sha256 ${committedDigest('models/iris/v2/model.onnx')}`;
    expect(spec?.checks[0]).toEqual({
      name: 'digest',
      status: 'failed',
      detail: finding,
      findings: [finding],
    });
  });

  it('finds a hostile operator with the scan step, without onnxruntime', async () => {
    const result = await plan(checksBase, checksHead);
    const spec = result.specs.find((entry) => entry.path === 'specs/hostile.yaml');
    expect(spec?.verdict).toBe('invalid');
    expect(spec?.checks.map(({ name, status }) => `${name} ${status}`)).toEqual([
      'digest passed',
      'scan failed',
      'secrets passed',
      'signatures passed',
    ]);
    expect(spec?.checks[1]?.findings?.join('\n')).toMatch(/^operators: .*com\.evil/);
    const markdown = renderPlanMarkdown(result);
    expect(markdown).toContain('### ❌ `specs/hostile.yaml`: invalid: 1 failed check');
    expect(markdown).toMatch(/- ❌ scan: 1 error in the model file\n {2}- operators: .*com\.evil/);
  });

  it('checks files against the head commit, not the working tree', async () => {
    // The holdout exists on disk but was never committed: the worker would not find it either.
    await repo.write('models/iris/uncommitted.csv', 'f0,label\n1,0\n');
    await repo.write(
      'specs/iris.yaml',
      exampleSpecYaml({ dataset: 'iris', version: 'v2' }).replace('holdout.csv', 'uncommitted.csv'),
    );
    await repo.git.commit('spec only', ['specs/iris.yaml']);
    const result = await plan(checksHead, 'HEAD');
    const spec = result.specs.find((entry) => entry.path === 'specs/iris.yaml');
    expect(spec?.errors.map((error) => error.message)).toEqual([
      'no such file in the repository: models/iris/uncommitted.csv',
    ]);
    await repo.git.raw(['reset', '--hard', checksHead]);
    await repo.git.clean('f', ['models']);
  });
});

describe('plan notes', () => {
  let from: string;
  beforeEach(async () => {
    from = (await repo.git.revparse(['HEAD'])).trim();
  });
  afterEach(async () => {
    await repo.git.raw(['reset', '--hard', from]);
  });

  it('says when only the model file changed under an unchanged spec', async () => {
    await repo.copyFromProject('models/iris/v1/model.onnx', 'models/iris/v2/model.onnx');
    const to = await repo.commit('overwrite v2 with v1 bytes');
    const result = await plan(from, to);
    const iris = result.specs.find((spec) => spec.path === 'specs/iris.yaml');
    expect(iris?.notes[0]).toMatch(
      /^the spec's text is unchanged, but models\/iris\/v2\/model\.onnx changed/,
    );
    expect(iris?.checks[0]?.status).toBe('failed');
  });

  it('refuses two specs for one model and environment', async () => {
    await repo.write('specs/iris-copy.yaml', exampleSpecYaml({ dataset: 'iris', version: 'v2' }));
    const to = await repo.commit('copy');
    const result = await plan(from, to);
    const copy = result.specs.find((spec) => spec.path === 'specs/iris-copy.yaml');
    expect(copy?.errors).toEqual([
      expect.objectContaining({
        path: 'metadata.name',
        message: 'specs/iris.yaml also deploys iris to staging: one spec per model and environment',
        rule: 'one-spec-per-deployment',
      }),
    ]);
  });

  it('folds a long error list into <details>', async () => {
    await repo.write(
      'specs/many.yaml',
      'apiVersion: v0\nkind: ModelDeployment\nmetadata: { nme: x }\nspec: { modle: {}, rollout: 3, extra: 1 }\n',
    );
    const to = await repo.commit('many errors');
    const markdown = renderPlanMarkdown(await plan(from, to));
    expect(markdown).toMatch(
      /<details><summary>\d+ errors<\/summary>\n\n- `specs\/many\.yaml:1:\d+` `apiVersion`: /,
    );
    expect(markdown).toContain('\n\n</details>');
  });

  it('tells a moved spec from a retirement', async () => {
    await repo.git.mv('specs/iris.yaml', 'specs/iris-staging.yaml');
    const to = await repo.commit('rename');
    const result = await plan(from, to);
    expect(result.specs.map(({ path, verdict, notes }) => ({ path, verdict, notes }))).toEqual([
      { path: 'specs/iris-staging.yaml', verdict: 'ok', notes: ['renamed from specs/iris.yaml'] },
      {
        path: 'specs/iris.yaml',
        verdict: 'moved',
        notes: [
          'renamed to specs/iris-staging.yaml',
          'specs/iris-staging.yaml still deploys iris to staging: nothing to retire',
        ],
      },
    ]);
    expect(result.specs[0]?.rollout?.kind).toBe('update');
  });
});

describe('modelship plan', () => {
  it('exits 1 when a spec is invalid, printing markdown', async () => {
    const run = await modelship(['plan', '--base', base, '--head', head], repo.root);
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/^## modelship plan: /);
    expect(run.stdout).toContain('**4 specs changed: 2 ok, 1 invalid, 1 removed**');
    expect(run.stderr).toBe('');
  });

  it('exits 0 when every spec is valid, and prints JSON on request', async () => {
    const run = await modelship(['plan', '--base', base, '--head', `${base}`, '--format', 'json'], repo.root);
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ base, head: base, summary: { changed: 0 } });
  });

  it('exits 2 naming an unknown ref', async () => {
    const run = await modelship(['plan', '--base', 'nope', '--head', 'HEAD', '--repo', repo.root], '/');
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/^modelship: unknown commit "nope"/);
  });
});
