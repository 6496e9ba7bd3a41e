/**
 * Every duration a spec can hold arrives in milliseconds beside its text, in every unit of the
 * grammar, so no workflow has to parse `500us`; and a spec parsed before the `...Ms` fields
 * existed gets the same numbers from the normaliser a workflow calls at start.
 */
import { describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { normaliseDurations } from '../../specs/durations-ms.ts';
import { formatSpecError, parseSpec } from '../../specs/parse.ts';
import { type ModelDeployment, ModelDeploymentSchema } from '../../specs/schema.ts';

const UNITS = { us: 0.001, ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** A spec document (plain data, before parsing) with `rollout` and the rest of `spec` swapped in. */
function specDocument(spec: Record<string, unknown>): Record<string, unknown> {
  return {
    apiVersion: 'modelship.dev/v1',
    kind: 'ModelDeployment',
    metadata: { name: 'iris', owners: ['bob'] },
    spec: {
      model: { source: 'models/iris/v2/model.onnx', sha256: 'a'.repeat(64) },
      interface: {
        inputs: [{ name: 'input', dtype: 'float32', shape: [-1, 4] }],
        outputs: [{ name: 'label', dtype: 'int64', shape: [-1] }],
      },
      validation: { holdout: { path: 'models/iris/holdout.csv' }, metrics: {} },
      ...spec,
    },
  };
}

/** A spec with every duration field set from `at(n)`, e.g. `at(3)` = `3us`. */
function specWith(at: (amount: number) => string): ModelDeployment {
  const text = stringify(
    specDocument({
      validation: {
        holdout: { path: 'models/iris/holdout.csv' },
        metrics: { latencyP50: { max: at(2) }, latencyP99: { max: at(7) } },
        importance: { budget: at(12) },
      },
      rollout: {
        environment: 'staging',
        postPromotionWindow: at(5),
        steps: [
          { shadow: { duration: at(4) } },
          { setWeight: 10 },
          { pause: { duration: at(3) } },
          { analysis: { duration: at(6), interval: at(1) } },
          { approval: { approvers: ['alice'], timeout: at(8) } },
          { setWeight: 100 },
        ],
      },
      analysis: { latencyP99: { max: at(9) } },
      monitoring: { interval: at(10) },
      promotion: { from: 'dev', minSoak: at(11) },
    }),
  );
  // The schema alone: the conversion is the point here, and some of these values (an interval of
  // 1us or 1d) are refused by the rules that follow it, tested below.
  return ModelDeploymentSchema.parse(parse(text));
}

/** Every duration field of a parsed spec, by its path, in milliseconds. */
function millisecondsOf(spec: ModelDeployment): Record<string, number | undefined> {
  const { rollout, validation, analysis } = spec.spec;
  const [shadow, , pause, watch, approval] = rollout.steps;
  return {
    'validation.metrics.latencyP50.max': validation.metrics.latencyP50?.maxMs,
    'validation.metrics.latencyP99.max': validation.metrics.latencyP99?.maxMs,
    'rollout.postPromotionWindow': rollout.postPromotionWindowMs,
    'steps.shadow.duration': shadow?.type === 'shadow' ? shadow.durationMs : undefined,
    'steps.pause.duration': pause?.type === 'pause' ? pause.durationMs : undefined,
    'steps.analysis.duration': watch?.type === 'analysis' ? watch.durationMs : undefined,
    'steps.analysis.interval': watch?.type === 'analysis' ? watch.intervalMs : undefined,
    'steps.approval.timeout': approval?.type === 'approval' ? approval.timeoutMs : undefined,
    'analysis.latencyP99.max': analysis.latencyP99.maxMs,
    'monitoring.interval': spec.spec.monitoring?.intervalMs,
    'promotion.minSoak': spec.spec.promotion?.minSoakMs,
    'validation.importance.budget': validation.importance?.budgetMs,
  };
}

/** The amount each field is given in `specWith`. */
const AMOUNTS = {
  'validation.metrics.latencyP50.max': 2,
  'validation.metrics.latencyP99.max': 7,
  'rollout.postPromotionWindow': 5,
  'steps.shadow.duration': 4,
  'steps.pause.duration': 3,
  'steps.analysis.duration': 6,
  'steps.analysis.interval': 1,
  'steps.approval.timeout': 8,
  'analysis.latencyP99.max': 9,
  'monitoring.interval': 10,
  'promotion.minSoak': 11,
  'validation.importance.budget': 12,
};

/** The spec as an older CLI started a workflow with it: durations as text only. */
function withoutMilliseconds(spec: ModelDeployment): ModelDeployment {
  return JSON.parse(JSON.stringify(spec, (key, value) => (key.endsWith('Ms') ? undefined : value)));
}

describe('durations in milliseconds', () => {
  for (const [unit, factor] of Object.entries(UNITS)) {
    it(`come with every duration field written in ${unit}`, () => {
      const measured = millisecondsOf(specWith((amount) => `${amount}${unit}`));
      for (const [field, amount] of Object.entries(AMOUNTS)) {
        expect(measured[field], field).toBeCloseTo(amount * factor, 9);
      }
    });
  }

  it('take decimals, such as 1.5s', () => {
    const measured = millisecondsOf(specWith((amount) => `${amount}.5s`));
    expect(measured['steps.pause.duration']).toBe(3_500);
  });

  it('come with the defaults too: interval 10s, approval timeout 24h, postPromotionWindow 5m', () => {
    const result = parseSpec(
      stringify(
        specDocument({
          rollout: {
            environment: 'staging',
            steps: [
              { setWeight: 10 },
              { analysis: { duration: '1m' } },
              { approval: { approvers: ['alice'] } },
              { setWeight: 100 },
            ],
          },
        }),
      ),
    );
    if (!result.ok) throw new Error(result.errors.map(formatSpecError).join('\n'));
    const { rollout, analysis } = result.spec.spec;
    expect(rollout.postPromotionWindowMs).toBe(300_000);
    expect(rollout.steps[1]).toMatchObject({ intervalMs: 10_000, durationMs: 60_000 });
    expect(rollout.steps[2]).toMatchObject({ timeoutMs: 86_400_000 });
    // Without an absolute p99 limit there is nothing to convert.
    expect(analysis.latencyP99).toEqual({ maxRatioToStable: 1.5 });
  });
});

describe('normaliseDurations', () => {
  it('gives a spec parsed before the milliseconds existed the same numbers as a parse today', () => {
    for (const unit of Object.keys(UNITS)) {
      const parsed = specWith((amount) => `${amount}${unit}`);
      const legacy = withoutMilliseconds(parsed);
      expect(millisecondsOf(legacy)['steps.pause.duration']).toBeUndefined();
      expect(normaliseDurations(legacy)).toEqual(parsed);
    }
  });

  it('leaves a spec that already has them as it is', () => {
    const parsed = specWith((amount) => `${amount}00us`);
    expect(normaliseDurations(parsed)).toEqual(parsed);
    expect(millisecondsOf(normaliseDurations(parsed))['steps.pause.duration']).toBeCloseTo(0.3, 9);
  });
});

describe('duration rules', () => {
  const withSteps = (steps: unknown[]) =>
    parseSpec(
      stringify(
        specDocument({
          validation: { holdout: { path: 'models/iris/holdout.csv' }, metrics: { accuracy: { min: 0.8 } } },
          rollout: { environment: 'staging', steps },
          analysis: { errorRate: { max: 0.01 } },
        }),
      ),
      { file: 'iris.yaml' },
    );
  const messages = (result: ReturnType<typeof withSteps>) =>
    result.ok ? [] : result.errors.map(formatSpecError);

  it('refuse an analysis interval below 100ms or above 1h, naming the field', () => {
    for (const interval of ['500us', '99ms', '2h', '1d']) {
      const result = withSteps([
        { setWeight: 10 },
        { analysis: { duration: '2d', interval } },
        { setWeight: 100 },
      ]);
      expect(messages(result).join('\n')).toContain(
        `spec.rollout.steps.1.analysis.interval: interval ${interval} must be between 100ms and 1h`,
      );
    }
    const fine = withSteps([
      { setWeight: 10 },
      { analysis: { duration: '2d', interval: '0.01d' } },
      { setWeight: 100 },
    ]);
    expect(messages(fine)).toEqual([]);
  });

  it('refuse a live-traffic step that would watch for more than a week', () => {
    const result = withSteps([{ shadow: { duration: '8d' } }, { setWeight: 100 }]);
    expect(messages(result).join('\n')).toContain(
      'spec.rollout.steps.0.shadow.duration: 8d is longer than the 7d a live-traffic step may watch',
    );
    expect(messages(withSteps([{ shadow: { duration: '168h' } }, { setWeight: 100 }]))).toEqual([]);
  });
});
