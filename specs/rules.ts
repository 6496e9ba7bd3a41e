/**
 * Semantic rules: what a spec must satisfy beyond its shape. Each rule is a small named function
 * over a parsed spec (so it can rely on the types) that returns problems with field paths; the
 * parse pipeline attaches positions. Rules run only on specs that passed the schema.
 *
 * No I/O here (this module may end up in the workflow bundle): whether a file exists is asked
 * through `RuleContext.fileExists`, which the caller provides.
 */
import type { FieldPath } from './errors.ts';
import { checkModelSource, checkRepoPath } from './locations.ts';
import type { ModelDeployment, Step } from './schema.ts';
import { VALIDATION_RULES } from './validation-rules.ts';

/** What the rules may ask of the outside world. */
export interface RuleContext {
  /**
   * Whether a file exists: `path` is relative to the repository root (POSIX separators) or, for
   * `file://` sources, absolute. Without it, existence is not checked (e.g. no repository at hand).
   */
  fileExists?: (path: string) => boolean;
}

/** A rule's finding, before it has a position. */
interface RuleProblem {
  path: FieldPath;
  message: string;
}

/** A semantic rule: a stable name (reported with each error) and its check. */
export interface Rule {
  name: string;
  check(spec: ModelDeployment, context: RuleContext): RuleProblem[];
}

const STEPS = ['spec', 'rollout', 'steps'] as const;

/** Each setWeight is higher than the one before (traffic only ever moves toward the candidate). */
function weightsIncrease({ spec }: ModelDeployment): RuleProblem[] {
  const problems: RuleProblem[] = [];
  let previous: number | undefined;
  for (const [index, step] of spec.rollout.steps.entries()) {
    if (step.type !== 'setWeight') continue;
    // After 100, `nothingAfterFullWeight` explains the problem better.
    if (previous !== undefined && previous < 100 && step.weight <= previous) {
      problems.push({
        path: [...STEPS, index, 'setWeight'],
        message: `must be greater than the previous setWeight (${previous})`,
      });
    }
    previous = step.weight;
  }
  return problems;
}

/** The rollout ends with the candidate on all traffic: its last setWeight is 100. */
function endsAtFullWeight({ spec }: ModelDeployment): RuleProblem[] {
  const weights = spec.rollout.steps.flatMap((step, index) =>
    step.type === 'setWeight' ? [{ step, index }] : [],
  );
  const last = weights.at(-1);
  if (last === undefined) {
    return [{ path: [...STEPS], message: 'no setWeight step: a rollout must end with setWeight: 100' }];
  }
  // A 100 followed by lower weights is `nothingAfterFullWeight`'s to report, not this rule's.
  if (!weights.some(({ step }) => step.weight === 100)) {
    return [
      {
        path: [...STEPS, last.index, 'setWeight'],
        message: `the last setWeight must be 100, got ${last.step.weight}: a rollout ends with the candidate on all traffic`,
      },
    ];
  }
  return [];
}

/** Once the candidate has all traffic, only waiting steps make sense: pause, analysis, approval. */
function nothingAfterFullWeight({ spec }: ModelDeployment): RuleProblem[] {
  const full = spec.rollout.steps.findIndex((step) => step.type === 'setWeight' && step.weight === 100);
  if (full === -1) return [];
  return spec.rollout.steps.flatMap((step, index) =>
    index > full && (step.type === 'shadow' || step.type === 'setWeight' || step.type === 'analysis')
      ? [
          {
            path: [...STEPS, index, step.type],
            message:
              step.type === 'analysis'
                ? `comes after setWeight: 100 (steps.${full}): stable gets no traffic then, so there is nothing to compare the candidate with; analyse before the last setWeight`
                : `comes after setWeight: 100 (steps.${full}), when the candidate already has all traffic; only pause or approval may follow`,
          },
        ]
      : [],
  );
}

/** An analysis before any setWeight above 0 watches a candidate that gets no traffic: it can only end inconclusive. */
function analysisHasTraffic({ spec }: ModelDeployment): RuleProblem[] {
  const firstTraffic = spec.rollout.steps.findIndex((step) => step.type === 'setWeight' && step.weight > 0);
  return spec.rollout.steps.flatMap((step, index) =>
    step.type === 'analysis' && (firstTraffic === -1 || index < firstTraffic)
      ? [
          {
            path: [...STEPS, index, 'analysis'],
            message:
              'comes before any setWeight above 0, so the candidate gets no traffic to judge; use shadow to compare without traffic, or move it after a setWeight',
          },
        ]
      : [],
  );
}

/** An approver listed twice is a typo, or a second approver who was meant and is missing. */
function approversUnique({ spec }: ModelDeployment): RuleProblem[] {
  return spec.rollout.steps.flatMap((step, index) =>
    step.type === 'approval'
      ? duplicates(step.approvers).map(({ index: at, value }) => ({
          path: [...STEPS, index, 'approval', 'approvers', at],
          message: `"${value}" is listed more than once`,
        }))
      : [],
  );
}

/** The model file is in the repository (or at a supported URI) and, when checkable, exists. */
function modelSourceLocation({ spec }: ModelDeployment, context: RuleContext): RuleProblem[] {
  const message = checkModelSource(spec.model.source, context.fileExists);
  return message === undefined ? [] : [{ path: ['spec', 'model', 'source'], message }];
}

/** The holdout CSV is a file in the repository and, when checkable, exists. */
function holdoutLocation({ spec }: ModelDeployment, context: RuleContext): RuleProblem[] {
  const message = checkRepoPath(spec.validation.holdout.path, context.fileExists);
  return message === undefined ? [] : [{ path: ['spec', 'validation', 'holdout', 'path'], message }];
}

/** Tensor names are unique among the inputs, and among the outputs: callers address tensors by name. */
function tensorNamesUnique({ spec }: ModelDeployment): RuleProblem[] {
  return (['inputs', 'outputs'] as const).flatMap((side) =>
    duplicates(spec.interface[side].map((tensor) => tensor.name)).map(({ index, value, first }) => ({
      path: ['spec', 'interface', side, index, 'name'],
      message: `duplicate ${side.slice(0, -1)} name "${value}" (also ${side}.${first})`,
    })),
  );
}

/** Offline validation reads predictions from an output the interface declares. */
function predictionOutputDeclared({ spec }: ModelDeployment): RuleProblem[] {
  const { predictionOutput } = spec.validation.holdout;
  const outputs = spec.interface.outputs.map((tensor) => tensor.name);
  if (outputs.includes(predictionOutput)) return [];
  return [
    {
      path: ['spec', 'validation', 'holdout', 'predictionOutput'],
      message: `"${predictionOutput}" is not an output in spec.interface.outputs (${outputs.join(', ')})`,
    },
  ];
}

/** dtypes whose tensors can hold NaN, so that a missing value can be fed as one. */
const FLOAT_DTYPES: readonly string[] = ['float16', 'float32', 'float64'];

/**
 * `features` describes the columns of a 2-D numeric input, one entry each, in order: the data
 * plane checks every row against them by column index, so the count must match the input's
 * width, and each constraint must be satisfiable and unambiguous.
 */
function inputFeatures({ spec }: ModelDeployment): RuleProblem[] {
  return spec.interface.inputs.flatMap((input, i) => {
    const at = ['spec', 'interface', 'inputs', i];
    const { features, onViolation, shape, dtype } = input;
    if (features === undefined) {
      return onViolation === undefined
        ? []
        : [{ path: [...at, 'onViolation'], message: 'applies to features, and this input lists none' }];
    }
    const problems: RuleProblem[] = [];
    const width = shape[1];
    if (dtype === 'string' || dtype === 'bool') {
      problems.push({
        path: [...at, 'features'],
        message: `describe the columns of a numeric input; "${input.name}" is ${dtype}`,
      });
    } else if (shape.length !== 2) {
      problems.push({
        path: [...at, 'features'],
        message: `need a 2-D input [-1, n] (rows of n columns); shape [${shape.join(', ')}] has ${shape.length} dimensions`,
      });
    } else if (width !== -1 && width !== features.length) {
      problems.push({
        path: [...at, 'features'],
        message: `lists ${features.length} columns, but shape [${shape.join(', ')}] has ${width}: one entry per column`,
      });
    }
    for (const { index, value, first } of duplicates(features.map((feature) => feature.name))) {
      problems.push({
        path: [...at, 'features', index, 'name'],
        message: `duplicate feature name "${value}" (also features.${first})`,
      });
    }
    features.forEach((feature, j) => {
      const here = [...at, 'features', j];
      if (feature.allowed !== undefined && (feature.min !== undefined || feature.max !== undefined)) {
        problems.push({
          path: [...here, 'allowed'],
          message: 'cannot be combined with min or max: give the allowed values, or a range',
        });
      } else if (feature.min !== undefined && feature.max !== undefined && feature.min > feature.max) {
        problems.push({
          path: [...here, 'min'],
          message: `${feature.min} is above max ${feature.max}: no value could pass`,
        });
      }
      if (feature.missing === 'allow' && !FLOAT_DTYPES.includes(dtype)) {
        problems.push({
          path: [...here, 'missing'],
          message: `allow needs a float input (a missing value is fed to the model as NaN); "${input.name}" is ${dtype}`,
        });
      }
    });
    return problems;
  });
}

/** Each live-traffic limit says what it limits: an absolute max, a ratio to stable, or both. */
function analysisLimitsGiven({ spec }: ModelDeployment): RuleProblem[] {
  return (['errorRate', 'latencyP99'] as const).flatMap((limit) => {
    const { max, maxRatioToStable } = spec.analysis[limit];
    if (max !== undefined || maxRatioToStable !== undefined) return [];
    return [{ path: ['spec', 'analysis', limit], message: 'give max, maxRatioToStable or both' }];
  });
}

/** An analysis reads metrics more than once before it decides. */
/**
 * Counters are read over HTTP (or from Prometheus) once per interval: more often than ten times a
 * second measures nothing new and loads the data plane; an hour between reads leaves a bad
 * canary on live traffic for that long.
 */
const MIN_INTERVAL_MS = 100;
const MAX_INTERVAL_MS = 3_600_000;

function analysisIntervalShorterThanDuration({ spec }: ModelDeployment): RuleProblem[] {
  return spec.rollout.steps.flatMap((step, index) => {
    if (step.type !== 'analysis') return [];
    const path = [...STEPS, index, 'analysis', 'interval'];
    if (step.intervalMs < MIN_INTERVAL_MS || step.intervalMs > MAX_INTERVAL_MS) {
      return [{ path, message: `interval ${step.interval} must be between 100ms and 1h` }];
    }
    if (step.intervalMs < step.durationMs) return [];
    return [
      {
        path,
        message: `interval ${step.interval} must be shorter than the step's duration (${step.duration})`,
      },
    ];
  });
}

/**
 * A step that watches live traffic is one heartbeating activity for its whole duration; a week
 * is already far beyond any canary analysis, and the activity's own time limit (8 days,
 * `workflows/activity-proxies.ts`) stays above it.
 */
const MAX_WATCH_MS = 7 * 86_400_000;

function watchesAtMostAWeek({ spec }: ModelDeployment): RuleProblem[] {
  return spec.rollout.steps.flatMap((step, index) => {
    if ((step.type !== 'analysis' && step.type !== 'shadow') || step.durationMs <= MAX_WATCH_MS) return [];
    return [
      {
        path: [...STEPS, index, step.type, 'duration'],
        message: `${step.duration} is longer than the 7d a live-traffic step may watch`,
      },
    ];
  });
}

/** Durations that gate a step are above zero: a 0s approval timeout rejects before anyone can look. */
function durationsPositive({ spec }: ModelDeployment): RuleProblem[] {
  return spec.rollout.steps.flatMap((step, index) =>
    gatingDurations(step).flatMap(([field, ms]) =>
      ms > 0 ? [] : [{ path: [...STEPS, index, step.type, field], message: 'must be longer than 0' }],
    ),
  );
}

function gatingDurations(step: Step): [field: string, ms: number][] {
  switch (step.type) {
    case 'shadow':
    case 'pause':
    case 'analysis':
      return [['duration', step.durationMs]];
    case 'approval':
      return [['timeout', step.timeoutMs]];
    case 'setWeight':
      return [];
  }
}

/**
 * The monitor reads the data plane once per interval: more often than ten times a second loads it
 * for nothing; a day between looks leaves a decaying model unwatched for that long.
 */
const MAX_MONITOR_INTERVAL_MS = 86_400_000;

function monitoringIntervalInRange({ spec }: ModelDeployment): RuleProblem[] {
  const { interval, intervalMs } = spec.monitoring;
  if (intervalMs >= MIN_INTERVAL_MS && intervalMs <= MAX_MONITOR_INTERVAL_MS) return [];
  return [
    {
      path: ['spec', 'monitoring', 'interval'],
      message: `interval ${interval} must be between 100ms and 1d`,
    },
  ];
}

/** An environment cannot take its versions from itself: nothing would ever pass first. */
function promotionFromAnother({ spec }: ModelDeployment): RuleProblem[] {
  if (!spec.promotion || spec.promotion.from !== spec.rollout.environment) return [];
  return [
    {
      path: ['spec', 'promotion', 'from'],
      message: `must name another environment than spec.rollout.environment (${spec.rollout.environment})`,
    },
  ];
}

/** Every rule, in the order their errors are listed when several hit the same line. */
export const RULES: readonly Rule[] = [
  { name: 'weights-increase', check: weightsIncrease },
  { name: 'ends-at-full-weight', check: endsAtFullWeight },
  { name: 'nothing-after-full-weight', check: nothingAfterFullWeight },
  { name: 'analysis-has-traffic', check: analysisHasTraffic },
  { name: 'approvers-unique', check: approversUnique },
  { name: 'model-source', check: modelSourceLocation },
  { name: 'holdout-path', check: holdoutLocation },
  { name: 'tensor-names-unique', check: tensorNamesUnique },
  { name: 'prediction-output-declared', check: predictionOutputDeclared },
  ...VALIDATION_RULES,
  { name: 'input-features', check: inputFeatures },
  { name: 'analysis-limits', check: analysisLimitsGiven },
  { name: 'analysis-interval', check: analysisIntervalShorterThanDuration },
  { name: 'durations-positive', check: durationsPositive },
  { name: 'watch-at-most-a-week', check: watchesAtMostAWeek },
  { name: 'monitoring-interval', check: monitoringIntervalInRange },
  { name: 'promotion-from-another', check: promotionFromAnother },
];

/** Runs every rule; each problem carries the name of the rule that found it. */
export function checkRules(
  spec: ModelDeployment,
  context: RuleContext = {},
): (RuleProblem & { rule: string })[] {
  return RULES.flatMap((rule) =>
    rule.check(spec, context).map((problem) => ({ ...problem, rule: rule.name })),
  );
}

/** Repeated values after their first occurrence, with the index of that first one. */
function duplicates(values: readonly string[]): { index: number; value: string; first: number }[] {
  const seen = new Map<string, number>();
  const found: { index: number; value: string; first: number }[] = [];
  for (const [index, value] of values.entries()) {
    const first = seen.get(value);
    if (first === undefined) seen.set(value, index);
    else found.push({ index, value, first });
  }
  return found;
}
