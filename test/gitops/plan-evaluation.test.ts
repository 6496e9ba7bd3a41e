/**
 * `plan` with evaluation on a real repository: each changed model runs on its holdout in the
 * isolated onnxruntime child, and the pull request shows the validation report (per class,
 * calibration, importance as a Mermaid chart, its shift from the model replaced). A model below
 * a floor, a slice below its floor and a holdout with personal data fail the plan at the spec
 * position to change, as validation after merge would; personal data never appears unmasked.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildPlan, type Plan, type SpecPlan } from '../../gitops/plan.ts';
import { renderPlanMarkdown } from '../../gitops/plan-markdown.ts';
import type { TempRepo } from '../support/git-repo.ts';
import { committedDigest } from '../support/model-catalog.ts';
import { createModelRepo, exampleSpecYaml, readerOf } from './helpers.ts';

const V1 = committedDigest('models/iris/v1/model.onnx');
const NULL_SHA = '0'.repeat(40);

let repo: TempRepo;
let holdout: string;

async function plan(base: string, head: string, evaluate = true): Promise<Plan> {
  return (
    await buildPlan({ reader: await readerOf(repo), base, head, ...(evaluate ? { evaluate: {} } : {}) })
  ).plan;
}

function specAt(result: Plan, path: string): SpecPlan {
  const found = result.specs.find((spec) => spec.path === path);
  if (!found) throw new Error(`no ${path} in the plan: ${result.specs.map((spec) => spec.path).join(', ')}`);
  return found;
}

/** The iris holdout with an extra column after the label, one value per row from `value(row)`. */
function withColumn(name: string, value: (label: string, row: number) => string): string {
  const [header = '', ...rows] = holdout.trimEnd().split('\n');
  return `${[`${header},${name}`, ...rows.map((row, index) => `${row},${value(row.split(',').at(-1) ?? '', index + 1)}`)].join('\n')}\n`;
}

beforeAll(async () => {
  repo = await createModelRepo();
  holdout = await readFile(join(repo.root, 'models/iris/holdout.csv'), 'utf8');
});

afterAll(async () => {
  await repo?.remove();
});

describe('plan --evaluate', () => {
  let first: string;

  it('shows the validation report of a new deployment, importance charted', async () => {
    await repo.write(
      'specs/iris.yaml',
      exampleSpecYaml({ dataset: 'iris', version: 'v1', minAccuracy: 0.8 }),
    );
    first = await repo.commit('iris v1');
    const result = await plan(NULL_SHA, first);
    const spec = specAt(result, 'specs/iris.yaml');
    expect(spec.verdict).toBe('ok');
    const report = spec.validation;
    expect(report?.passed).toBe(true);
    expect(report?.holdoutRows).toBe(45);
    expect(report?.analysis?.classes.perClass.map((cls) => cls.class)).toEqual([0, 1, 2]);
    expect(report?.explanations?.importance?.features).toHaveLength(4);
    expect(report?.explanations?.shiftUnavailable).toContain('new deployment');
    const markdown = renderPlanMarkdown(result);
    expect(markdown).toMatch(/- ✅ validation: 45 holdout rows, accuracy 0\.9111/);
    expect(markdown).toContain('#### Per class');
    expect(markdown).toContain('```mermaid\nxychart-beta');
    expect(markdown).toContain('<details><summary>Validation report');
  });

  it("compares an update's importance with the model it replaces", async () => {
    await repo.write(
      'specs/iris.yaml',
      exampleSpecYaml({ dataset: 'iris', version: 'v2', minAccuracy: 0.8 }),
    );
    const head = await repo.commit('iris v2');
    const spec = specAt(await plan(first, head), 'specs/iris.yaml');
    const shift = spec.validation?.explanations?.shift;
    expect(shift?.stable).toEqual({ version: 'models/iris/v1/model.onnx', bundleDigest: V1 });
    expect(shift?.k).toBeGreaterThan(0);
    expect(renderPlanMarkdown(await plan(first, head))).toContain('#### Against the model it replaces');
    first = head;
  });

  it('fails a model below its accuracy floor at the floor, and only shows latency', async () => {
    const text = exampleSpecYaml({ dataset: 'iris', version: 'v1', minAccuracy: 0.99 }).replace(
      'latencyP99: { max: 250ms }',
      'latencyP99: { max: 1us }',
    );
    await repo.write('specs/iris.yaml', text);
    const head = await repo.commit('a floor v1 does not meet');
    const spec = specAt(await plan(first, head), 'specs/iris.yaml');
    expect(spec.verdict).toBe('invalid');
    const line = text.split('\n').findIndex((row) => row.includes('accuracy: { min: 0.99 }')) + 1;
    expect(spec.errors).toEqual([
      expect.objectContaining({ path: 'spec.validation.metrics.accuracy', line, rule: 'validation' }),
    ]);
    expect(spec.errors[0]?.message).toMatch(/accuracy 0\.91\d* < min 0\.99/);
    // Latency belongs to the worker's machine: a note, not an error.
    expect(spec.notes.join('\n')).toMatch(/latencyP99 .* measured on this runner/);
    expect(spec.validation?.passed).toBe(false);
  });

  it('fails a slice below its floor at the slice', async () => {
    await repo.write(
      'models/iris/holdout.csv',
      withColumn('site', (label) => (label === '2' ? 'north' : 'south')),
    );
    await repo.write(
      'specs/iris.yaml',
      exampleSpecYaml({ dataset: 'iris', version: 'v1', minAccuracy: 0.8 }).replace(
        '  rollout:',
        '    slices:\n      - { column: site, minAccuracy: 0.95, minRows: 5 }\n  rollout:',
      ),
    );
    const head = await repo.commit('a slice per site');
    const spec = specAt(await plan(first, head), 'specs/iris.yaml');
    expect(spec.errors).toEqual([
      expect.objectContaining({ path: 'spec.validation.slices.0', rule: 'validation' }),
    ]);
    expect(spec.errors[0]?.message).toContain('north');
    expect(spec.validation?.analysis?.slices?.[0]).toMatchObject({ column: 'site', passed: false });
  });

  it('refuses a holdout with personal data before reading it, masked everywhere', async () => {
    await repo.write(
      'models/iris/holdout.csv',
      withColumn('contact', (_, row) => `jane.doe${row}@example.com`),
    );
    await repo.write(
      'specs/iris.yaml',
      exampleSpecYaml({ dataset: 'iris', version: 'v1', minAccuracy: 0.8 }),
    );
    const head = await repo.commit('contacts in the holdout');
    const result = await plan(first, head);
    const spec = specAt(result, 'specs/iris.yaml');
    expect(spec.verdict).toBe('invalid');
    expect(spec.errors).toEqual([
      expect.objectContaining({ path: 'spec.validation.holdout.path', rule: 'privacy:holdout' }),
    ]);
    expect(spec.errors[0]?.message).toContain('holds personal data (45 value(s))');
    expect(spec.validation).toBeUndefined();
    for (const output of [JSON.stringify(result), renderPlanMarkdown(result)]) {
      expect(output).not.toContain('jane.doe');
      expect(output).not.toContain('example.com');
    }
  });

  it('lets personal data through where the policy allows it, recorded masked', async () => {
    await repo.write(
      'policies/staging.yaml',
      'apiVersion: modelship.dev/v1\nkind: EnvironmentPolicy\nmetadata: { environment: staging }\nprivacy: { holdout: allow }\n',
    );
    // Reported per contact: the slice values go into the report, so they must come out masked.
    await repo.write(
      'specs/iris.yaml',
      exampleSpecYaml({ dataset: 'iris', version: 'v1', minAccuracy: 0.8 }).replace(
        '  rollout:',
        '    slices:\n      - { column: contact, minRows: 5 }\n  rollout:',
      ),
    );
    const head = await repo.commit('staging may evaluate on contacts');
    const result = await plan(first, head);
    const spec = specAt(result, 'specs/iris.yaml');
    expect(spec.errors.map((error) => error.message)).toEqual([]);
    expect(spec.validation?.privacy?.holdout.total).toBe(45);
    expect(spec.validation?.analysis?.slices?.[0]?.groups[0]?.value).toMatch(/^j\*\*\*@e\*\*\*\.com$/);
    expect(renderPlanMarkdown(result)).toContain(
      'personal data let through by the policy, masked (45 value(s))',
    );
    expect(JSON.stringify(result)).not.toContain('jane.doe');
  });

  it('runs no model unless asked', async () => {
    const result = await plan(NULL_SHA, first, false);
    expect(specAt(result, 'specs/iris.yaml').validation).toBeUndefined();
  });
});
