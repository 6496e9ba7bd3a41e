/**
 * Every shipped spec (specs/examples, and specs/dev that `npm start` deploys) must pass its own
 * rollout against the model it names, rolled out over v1, the baseline of the same dataset in
 * models/catalog.json. Both models run on the
 * holdout with onnxruntime-node (the data plane's runtime), and each gate a well-behaved v2 meets
 * is checked with those real predictions: the validation thresholds, every shadow step's
 * minAgreement, and the analysis' disagreement limit. Latency depends on the machine and is left
 * to the workflow tests.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Tensor } from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { parseHoldoutCsv } from '../../model/holdout.ts';
import { accuracy, f1Macro } from '../../model/metrics.ts';
import { createInferenceSession } from '../../model/onnx-env.ts';
import { parseSpecFile } from '../../specs/parse-file.ts';
import { REPO_ROOT } from '../support/paths.ts';
import { yamlFilesIn } from './helpers.ts';

const examples = [...yamlFilesIn('specs/examples'), ...yamlFilesIn('specs/dev')];
const catalog = JSON.parse(readFileSync(join(REPO_ROOT, 'models/catalog.json'), 'utf8')) as {
  datasets: { name: string; versions: { version: string; path: string }[] }[];
};

/** The class each holdout row gets from the model at `path`, in row order. */
async function predict(path: string, features: Float64Array, rows: number, width: number, output: string) {
  const session = await createInferenceSession(join(REPO_ROOT, path), { executionProviders: ['cpu'] });
  try {
    const input = new Tensor('float32', Float32Array.from(features), [rows, width]);
    const result = await session.run({ [session.inputNames[0] as string]: input });
    return Int32Array.from(result[output]?.data as BigInt64Array, (label) => Number(label));
  } finally {
    await session.release();
  }
}

/**
 * The lowest agreement a shadow read can see once `minCompared` rows were compared, when live
 * traffic cycles through the holdout rows in order from any row (as `modelship dev` and
 * `modelship load` send it): mid-step, the first read below minAgreement fails the rollout.
 */
function worstReadAgreement(agrees: boolean[], minCompared: number): number {
  let worst = 1;
  for (let start = 0; start < agrees.length; start += 1) {
    let agreed = 0;
    for (let n = 1; n <= minCompared + 2 * agrees.length; n += 1) {
      if (agrees[(start + n - 1) % agrees.length]) agreed += 1;
      if (n >= minCompared) worst = Math.min(worst, agreed / n);
    }
  }
  return worst;
}

describe.each(examples)('%s', (file) => {
  it('passes its validation, shadow and analysis gates over v1 on the holdout', async () => {
    const parsed = await parseSpecFile(join(REPO_ROOT, file), { repoRoot: REPO_ROOT });
    if (!parsed.ok) throw new Error(`${file} does not parse`);
    const { metadata, spec } = parsed.spec;
    const versions = catalog.datasets.find((dataset) => dataset.name === metadata.name)?.versions ?? [];
    const baseline = versions.find((version) => version.version === 'v1')?.path;
    expect(baseline).toBeDefined();

    const holdout = spec.validation.holdout;
    const csv = readFileSync(join(REPO_ROOT, holdout.path), 'utf8');
    const read = parseHoldoutCsv(csv, holdout.labelColumn, holdout.path);
    if (!read.ok) throw new Error(read.errors.join('\n'));
    const { features, rows, featureNames, labels } = read.data;
    const run = (path: string) =>
      predict(path, features, rows, featureNames.length, holdout.predictionOutput);
    const [candidate, stable] = [await run(spec.model.source), await run(baseline as string)];

    const metrics = spec.validation.metrics;
    const measured = { accuracy: accuracy(labels, candidate), f1Macro: f1Macro(labels, candidate) };
    if (metrics.accuracy) expect(measured.accuracy).toBeGreaterThanOrEqual(metrics.accuracy.min);
    if (metrics.f1Macro) expect(measured.f1Macro).toBeGreaterThanOrEqual(metrics.f1Macro.min);

    const agrees = Array.from(candidate, (label, row) => label === stable[row]);
    const agreement = agrees.filter(Boolean).length / rows;
    const worst = worstReadAgreement(agrees, parsed.spec.spec.analysis.minRequests);
    for (const step of spec.rollout.steps) {
      if (step.type !== 'shadow') continue;
      expect(agreement, `agreement over the holdout vs minAgreement`).toBeGreaterThanOrEqual(
        step.minAgreement,
      );
      expect(worst, `the lowest agreement a shadow read can see vs minAgreement`).toBeGreaterThanOrEqual(
        step.minAgreement,
      );
    }
    // A share of differing rows bounds the distance between the two arms' class distributions.
    expect(1 - agreement).toBeLessThanOrEqual(parsed.spec.spec.analysis.disagreement.max);
    console.log(
      `${file}: accuracy ${measured.accuracy.toFixed(4)}, f1Macro ${measured.f1Macro.toFixed(4)}, agreement with v1 ${agreement.toFixed(4)} (worst read ${worst.toFixed(4)})`,
    );
  });
});
