/**
 * The validation report on the pull request: `plan --evaluate` runs each changed model on its
 * holdout as the validate step will after merge (`model/holdout-evaluation.ts`, the same isolated
 * onnxruntime child), so the reviewer reads per-class results, calibration, slices and what drives
 * the predictions before approving, and a model that would fail validation fails the plan.
 *
 * Read from the head commit, like everything `plan` judges: the model file and the holdout. The
 * holdout is scanned for personal data first and judged by the environment's policy, as the
 * worker judges it (`supply-chain/privacy/holdout-verdict.ts`); findings are masked everywhere.
 * For an update, the model the spec had at base is run on the same holdout, and its importance
 * ranking compared with the new one's: at plan time that is the version being replaced.
 *
 * Latency is measured on the CI runner, not on a worker: it is shown, never judged here.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ModelError } from '../model/errors.ts';
import { sha256Hex } from '../model/files.ts';
import { type HoldoutData, parseHoldoutCsv } from '../model/holdout.ts';
import { evaluateOnHoldout, type HoldoutEvaluation } from '../model/holdout-evaluation.ts';
import { describeMetric } from '../model/metrics.ts';
import type { Explanations } from '../model/report/analysis.ts';
import { importanceShift } from '../model/report/importance.ts';
import type { ValidationReport } from '../model/validation-report.ts';
import { type FieldPath, formatPath, type SpecError } from '../specs/errors.ts';
import { normalizeRepoPath } from '../specs/locations.ts';
import { type LayeredSource, placeOf } from '../specs/overlay.ts';
import type { ModelDeployment } from '../specs/schema.ts';
import { importanceOptions } from '../specs/validation-schema.ts';
import type { LoadedPolicy } from '../supply-chain/policy/load.ts';
import { maskQuotedPersonalData } from '../supply-chain/privacy/holdout-pii.ts';
import { judgeHoldoutPrivacy, maskHoldoutSlices } from '../supply-chain/privacy/holdout-verdict.ts';
import type { CommitReader } from './git.ts';

/** The report as the plan shows it: what the bundle's manifest will hold, less the profile. */
export type PlanValidationReport = Pick<
  ValidationReport,
  'passed' | 'metrics' | 'holdoutRows' | 'holdoutSha256' | 'analysis' | 'explanations' | 'privacy'
> & { holdoutPath: string };

/** What evaluating one spec on the pull request found. */
export interface PlanEvaluation {
  /** Present when the model ran on its holdout. */
  report?: PlanValidationReport;
  /** Why it did not run (a model outside the repository, a machine that cannot run it). */
  skipped?: string;
  /** Refusals, each at the spec position to change: personal data, a floor not met, a model error. */
  errors: SpecError[];
  /** What the reviewer should know and nothing refuses (latency measured on the runner). */
  notes: string[];
}

export interface EvaluateSpecInput {
  reader: CommitReader;
  head: string;
  spec: ModelDeployment;
  source: LayeredSource;
  policy: LoadedPolicy;
  /** The deployment's spec at base, when this is an update: its model is the one replaced. */
  previous?: { commit: string; spec: ModelDeployment };
  /** Where private copies of the models go (default: the OS temp directory). */
  workDir?: string;
}

/** Evaluates one valid spec at head; see the module comment. Never throws for the model's sake. */
export async function evaluateSpecAtCommit(input: EvaluateSpecInput): Promise<PlanEvaluation> {
  const { reader, head, spec, source } = input;
  const { validation } = spec.spec;
  const errors: SpecError[] = [];
  const error = (path: FieldPath, message: string, rule: string) =>
    errors.push({ ...placeOf(source, path), path: formatPath(path), message, rule });

  const modelPath = repoPath(spec.spec.model.source);
  if (modelPath === undefined) {
    return {
      skipped: `the model is at ${spec.spec.model.source}, outside the repository: the worker validates it after merge`,
      errors,
      notes: [],
    };
  }
  const holdoutPath = validation.holdout.path;
  const csv = await reader.readText(head, holdoutPath);
  const privacyPolicy = input.policy.ok ? input.policy.policy.privacy.holdout : 'refuse';
  const privacy = judgeHoldoutPrivacy(csv, holdoutPath, privacyPolicy);
  if (privacy.refused) {
    error(['spec', 'validation', 'holdout', 'path'], privacy.message, 'privacy:holdout');
    return { errors, notes: [] };
  }
  const parsed = parseHoldoutCsv(csv, validation.holdout.labelColumn, holdoutPath, {
    sliceColumns: (validation.slices ?? []).map((slice) => slice.column),
  });
  if (!parsed.ok) {
    const problems = privacy.record ? parsed.errors.map(maskQuotedPersonalData) : parsed.errors;
    error(
      ['spec', 'validation', 'holdout', 'path'],
      `holdout data is unusable: ${problems.join('; ')}`,
      'validation',
    );
    return { errors, notes: [] };
  }
  const holdout = privacy.record ? maskHoldoutSlices(parsed.data) : parsed.data;

  const dir = await mkdtemp(join(input.workDir ?? tmpdir(), 'modelship-plan-'));
  try {
    const evaluated = await runOn(reader, head, modelPath, spec, holdout, dir, 'candidate');
    if ('error' in evaluated) {
      if (evaluated.error instanceof ModelError) {
        error(['spec', 'model', 'source'], evaluated.error.message, 'validation');
        return { errors, notes: [] };
      }
      return { skipped: `the model could not be run here: ${evaluated.error.message}`, errors, notes: [] };
    }
    const { evaluation } = evaluated;
    const notes: string[] = [];
    for (const metric of evaluation.metrics) {
      if (metric.passed) continue;
      if (metric.unit === 'ms') {
        notes.push(
          `${describeMetric(metric)}, measured on this runner: the worker judges latency on its own machine`,
        );
      } else {
        error(
          ['spec', 'validation', 'metrics', metric.name],
          `on the holdout: ${describeMetric(metric)}`,
          'validation',
        );
      }
    }
    for (const [index, slice] of (evaluation.analysis.slices ?? []).entries()) {
      if (slice.passed) continue;
      const failing = evaluation.slicesFailed.filter((text) => text.includes(slice.column)).join('; ');
      error(
        ['spec', 'validation', 'slices', index],
        `on the holdout: ${failing || `slice ${slice.column} below its floor`}`,
        'validation',
      );
    }
    const explanations = await explain(input, evaluation, holdout, dir);
    return {
      report: {
        passed: errors.length === 0,
        metrics: evaluation.metrics,
        holdoutRows: holdout.rows,
        holdoutPath,
        holdoutSha256: sha256Hex(Buffer.from(csv, 'utf8')),
        analysis: evaluation.analysis,
        ...(explanations ? { explanations } : {}),
        ...(privacy.record ? { privacy: { holdout: privacy.record } } : {}),
      },
      errors,
      notes,
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** The importance, and its shift against the model the spec had at base. */
async function explain(
  input: EvaluateSpecInput,
  evaluation: HoldoutEvaluation,
  holdout: HoldoutData,
  dir: string,
): Promise<Explanations | undefined> {
  const { importance } = evaluation;
  if (!importance) return undefined;
  const { previous, spec } = input;
  const before = previous?.spec.spec.model;
  if (!previous || !before) return { importance, shiftUnavailable: 'a new deployment: nothing is replaced' };
  if (before.sha256 === spec.spec.model.sha256) {
    return { importance, shiftUnavailable: 'the model is the one it replaces' };
  }
  const beforePath = repoPath(before.source);
  if (beforePath === undefined) {
    return {
      importance,
      shiftUnavailable: `the model replaced is at ${before.source}, outside the repository`,
    };
  }
  // The replaced model on this holdout, with this spec's validation: the same rows and features.
  const replaced = { ...previous.spec, spec: { ...previous.spec.spec, validation: spec.spec.validation } };
  const ran = await runOn(input.reader, previous.commit, beforePath, replaced, holdout, dir, 'replaced');
  if ('error' in ran)
    return { importance, shiftUnavailable: `the model replaced could not be run: ${ran.error.message}` };
  if (!ran.evaluation.importance)
    return { importance, shiftUnavailable: 'the model replaced gave no importance' };
  const { topK } = importanceOptions(spec.spec.validation.importance);
  return {
    importance,
    shift: {
      stable: { version: before.source, bundleDigest: before.sha256 },
      ...importanceShift(ran.evaluation.importance, importance, topK),
    },
  };
}

/** Writes the model of `commit` to a private file and evaluates it; errors are returned, not thrown. */
async function runOn(
  reader: CommitReader,
  commit: string,
  path: string,
  spec: ModelDeployment,
  holdout: HoldoutData,
  dir: string,
  name: string,
): Promise<{ evaluation: HoldoutEvaluation } | { error: Error }> {
  try {
    const modelPath = join(dir, `${name}.onnx`);
    await writeFile(modelPath, await reader.readBytes(commit, path));
    const evaluation = await evaluateOnHoldout({
      modelPath,
      label: `"${path}" (sha256 ${spec.spec.model.sha256.slice(0, 12)}…)`,
      interface: spec.spec.interface,
      validation: spec.spec.validation,
      holdout,
    });
    return { evaluation };
  } catch (error) {
    return { error: error instanceof Error ? error : new Error(String(error)) };
  }
}

/** A repository path (not a URI), normalized; `undefined` for `file://`, `https://`, `oci://`. */
function repoPath(source: string): string | undefined {
  if (/^[a-z][a-z0-9+.-]*:/i.test(source)) return undefined;
  return normalizeRepoPath(source);
}
