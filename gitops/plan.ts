/**
 * `plan`: what merging a change would do, judged without Temporal. For each spec the change
 * adds, modifies or removes: its errors with positions, the offline checks of its model, and the
 * rollout `apply` would start (new or an update, steps, approvers), or the deployment a removal
 * retires. `apply` builds the same plan first, so it refuses exactly what the plan marks invalid.
 *
 * Each valid-looking spec is also judged by its environment's policy (`policies/<env>.yaml` at
 * head, with the head commit's author for four eyes): a failed rule or a broken policy file is
 * an error of the spec, so `apply` refuses it like any other.
 */

import { type DeploymentKey, deployModelWorkflowId } from '../domain/deployment.ts';
import type { LifeRecord } from '../release/artifact-life.ts';
import { evidenceLines, judgePromotion } from '../release/promotion.ts';
import { quarantineMessage, quarantineOf } from '../release/quarantine.ts';
import { formatPath, type SpecError } from '../specs/errors.ts';
import { type LayeredSource, placeOf } from '../specs/overlay.ts';
import { parseSpec } from '../specs/parse.ts';
import type { ModelDeployment } from '../specs/schema.ts';
import { describeStep } from '../specs/steps.ts';
import type { GateReport } from '../supply-chain/gates/evaluate.ts';
import type { PolicyRuleResult } from '../supply-chain/policy/evaluate.ts';
import type { LoadedPolicy } from '../supply-chain/policy/load.ts';
import { compare, findSpecChanges, isSpecFile, type SpecChange } from './changes.ts';
import { checkSpecAtCommit } from './check-spec.ts';
import type { Commit, CommitReader } from './git.ts';
import { type OfflineCheck, shipGatesAt } from './offline-checks.ts';
import {
  type EvaluateSpecInput,
  evaluateSpecAtCommit,
  type PlanValidationReport,
} from './plan-evaluation.ts';
import { specDigest } from './spec-digest.ts';
import { declaresModelDeployment, effectiveTextAt, specIdentity } from './spec-fields.ts';

/**
 * `ok`: `apply` would roll it out; `invalid`: schema, rule or offline-check errors (apply starts
 * nothing at all); `retire`: a removed spec's deployment; `moved`: a removed spec whose
 * deployment another spec at head still declares (nothing to retire).
 */
export type SpecVerdict = 'ok' | 'invalid' | 'retire' | 'moved';

/** What would happen to the deployment of a valid spec. */
export interface RolloutPlan {
  /** `new`: no spec at base declared this model and environment; `update`: one did (this file or another). */
  kind: 'new' | 'update';
  model: { source: string; sha256: string };
  /** The model at base, for updates. */
  previous?: { source: string; sha256: string };
  /** Each step in a few words, in order. */
  steps: string[];
  /** Everyone an approval step lists, in order of first appearance. */
  approvers: string[];
  owners: string[];
}

/** The plan for one spec path. */
export interface SpecPlan {
  path: string;
  change: SpecChange['change'];
  verdict: SpecVerdict;
  /** Absent when the spec is too broken to say which deployment it is. */
  deployment?: DeploymentKey;
  errors: SpecError[];
  checks: OfflineCheck[];
  rollout?: RolloutPlan;
  /** The environment's policy and its verdicts; absent when the spec is too broken to judge. */
  policy?: PolicyVerdicts;
  /** Things a reviewer should know: renames, unchanged text with a changed model, retirements. */
  notes: string[];
  /** With `spec.promotion`: the evidence that the artifact passed the other environment. */
  promotion?: { from: string; passed: boolean; lines: string[] };
  /** The model on its holdout, as validation after merge will judge it (`plan --evaluate`). */
  validation?: PlanValidationReport;
  /** Why the model was not evaluated on the pull request. */
  validationSkipped?: string;
}

/**
 * The policy verdicts of one spec. `none`: no policy file at head, the default policy judged (it
 * has rules only in production: four eyes); `invalid`: the policy file has errors (listed in the
 * spec's `errors` under the policy's file name); `judged`: one result per rule, each failure also
 * in the spec's `errors`.
 */
export interface PolicyVerdicts {
  environment: string;
  /** `policies/<environment>.yaml`. */
  file: string;
  status: 'none' | 'invalid' | 'judged';
  results: PolicyRuleResult[];
}

/** The rule name of a spec error that a failed policy rule became: `policy:rollout.fourEyes`. */
export const POLICY_RULE_PREFIX = 'policy:';

/** The whole plan, as `--format json` prints it. */
export interface Plan {
  /** Resolved base sha; `null` when planned against nothing (the null sha). */
  base: Commit;
  head: string;
  specsDir: string;
  summary: { changed: number; ok: number; invalid: number; removed: number };
  /** Sorted by path. */
  specs: SpecPlan[];
}

/** A valid spec at head, with what `apply` starts DeployModel with. */
export interface DeployableSpec {
  path: string;
  spec: ModelDeployment;
  specText: string;
  specDigest: string;
}

/** The plan, plus the valid specs in a form `apply` can start (not part of the printed plan). */
export interface PlanResult {
  plan: Plan;
  deployable: DeployableSpec[];
}

export interface BuildPlanInput {
  reader: CommitReader;
  base: string;
  head: string;
  specsDir?: string;
  /**
   * A model's records from an audit log that verified (`release/verified-records.ts`), to judge
   * quarantine and `spec.promotion` as DeployModel will; without it the plan says it could not.
   */
  release?: ReleaseRecords;
  /** The time promotion soak is judged at (default now). */
  now?: Date;
  /**
   * Run each valid spec's model on its holdout (`plan-evaluation.ts`), so the plan shows the
   * validation report and refuses what validation would. Off by default: `apply` does not need
   * it (DeployModel validates), `modelship plan` turns it on.
   */
  evaluate?: { workDir?: string };
}

/** Reads one model's audit records for the release gates. */
export type ReleaseRecords = (model: string) => Promise<readonly LifeRecord[]>;

/** Finds the changed specs between `base` and `head` and judges each at head. */
export async function buildPlan(input: BuildPlanInput): Promise<PlanResult> {
  const { reader } = input;
  const changeSet = await findSpecChanges(input);
  const { base, head, specsDir, changes } = changeSet;
  const declaredAtHead = await deploymentsAt(reader, head, specsDir);
  const declaredAtBase =
    base === null ? new Map<string, string[]>() : await deploymentsAt(reader, base, specsDir);

  const gates = shipGatesAt(reader, head);
  const specs: SpecPlan[] = [];
  const deployable: DeployableSpec[] = [];
  for (const change of changes) {
    if (change.change === 'removed') {
      if (base === null) continue; // a removal always has a base
      specs.push(
        planRemoval(
          change,
          specIdentity(await effectiveTextAt(reader, base, change.baseText)),
          declaredAtHead,
        ),
      );
      continue;
    }
    const checked = await checkSpecAtCommit(reader, head, change.path, change.headText, gates);
    const errors = checked.ok ? [] : [...checked.errors];
    const spec = checked.spec;
    const deployment = spec
      ? keyOf(spec)
      : specIdentity(await effectiveTextAt(reader, head, change.headText));
    if (spec && checked.source && deployment) {
      // Two specs for one deployment would start the same workflow id, the second superseding
      // the first: a copied spec whose name was not changed, most likely.
      const others = (declaredAtHead.get(keyString(deployment)) ?? []).filter((path) => path !== change.path);
      if (others.length > 0) {
        errors.push({
          ...placeOf(checked.source, ['metadata', 'name']),
          path: 'metadata.name',
          message: `${others.join(', ')} also deploys ${deployment.model} to ${deployment.environment}: one spec per model and environment`,
          rule: 'one-spec-per-deployment',
        });
      }
    }
    const policy =
      spec && checked.source && checked.policy && checked.gates
        ? policyVerdicts(spec, checked.source, checked.policy, checked.gates)
        : undefined;
    if (policy) errors.push(...policy.errors);
    const release =
      spec && checked.source && checked.ok && errors.length === 0
        ? await releaseVerdict(spec, checked.source, input)
        : undefined;
    if (release) errors.push(...release.errors);
    // The deployment's spec at base (under this path or another, after a rename): an update of
    // it, or a new deployment when no spec declared it.
    const basePath = deployment ? declaredAtBase.get(keyString(deployment))?.[0] : undefined;
    const baseText =
      base === null || basePath === undefined
        ? undefined
        : await effectiveTextAt(reader, base, await reader.readText(base, basePath));
    const evaluation =
      input.evaluate && spec && checked.source && checked.policy && checked.ok && errors.length === 0
        ? await evaluateSpecAtCommit({
            reader,
            head,
            spec,
            source: checked.source,
            policy: checked.policy,
            ...previousSpec(base, baseText),
            ...(input.evaluate.workDir ? { workDir: input.evaluate.workDir } : {}),
          })
        : undefined;
    if (evaluation) errors.push(...evaluation.errors);
    const valid = checked.ok && errors.length === 0;
    const before =
      change.change === 'modified'
        ? specIdentity(await effectiveTextAt(reader, base ?? head, change.baseText))
        : undefined;
    const entry: SpecPlan = {
      path: change.path,
      change: change.change,
      verdict: valid ? 'ok' : 'invalid',
      ...(deployment ? { deployment } : {}),
      errors,
      checks: checked.checks,
      ...(policy ? { policy: policy.verdicts } : {}),
      notes: [
        ...changeNotes(change, { deployment, before, basePath, sameEffective: baseText === checked.text }),
        ...(release?.notes ?? []),
        ...(evaluation?.notes ?? []),
      ],
      ...(release?.promotion ? { promotion: release.promotion } : {}),
      ...(evaluation?.report ? { validation: evaluation.report } : {}),
      ...(evaluation?.skipped ? { validationSkipped: evaluation.skipped } : {}),
    };
    if (valid && spec && checked.text !== undefined) {
      entry.rollout = rolloutPlan(spec, baseText);
      // The effective spec (merged over its base, when it has one) is what deploys.
      deployable.push({
        path: change.path,
        spec,
        specText: checked.text,
        specDigest: specDigest(checked.text),
      });
    }
    specs.push(entry);
  }

  const count = (verdicts: SpecVerdict[]) => specs.filter((spec) => verdicts.includes(spec.verdict)).length;
  return {
    plan: {
      base,
      head,
      specsDir,
      summary: {
        changed: specs.length,
        ok: count(['ok']),
        invalid: count(['invalid']),
        removed: count(['retire', 'moved']),
      },
      specs,
    },
    deployable,
  };
}

/**
 * The release gates DeployModel applies first (`checkRelease`), judged here on the same audit
 * records with the same functions: a quarantined artifact, and one that did not pass
 * `spec.promotion.from`, are errors of the spec, so `apply` refuses them as the workflow would.
 */
async function releaseVerdict(
  spec: ModelDeployment,
  source: LayeredSource,
  input: BuildPlanInput,
): Promise<{ errors: SpecError[]; notes: string[]; promotion?: SpecPlan['promotion'] }> {
  const { promotion } = spec.spec;
  if (!input.release) {
    return {
      errors: [],
      notes: promotion
        ? [
            `promotion from ${promotion.from} and quarantine not checked here: no audit log (set MODELSHIP_AUDIT_URL); DeployModel checks both`,
          ]
        : [],
    };
  }
  const model = spec.metadata.name;
  const sha256 = spec.spec.model.sha256;
  const errors: SpecError[] = [];
  const error = (at: (string | number)[], message: string, rule: string) =>
    errors.push({ ...placeOf(source, at), path: formatPath(at), message, rule });
  let records: readonly LifeRecord[];
  try {
    records = await input.release(model);
  } catch (failure) {
    // A log that does not verify cannot clear anything: refused, as DeployModel would.
    error(
      ['spec', 'model', 'sha256'],
      `cannot judge quarantine or promotion: ${(failure as Error).message}`,
      'release',
    );
    return { errors, notes: [] };
  }
  const quarantine = quarantineOf(records, model, sha256);
  if (quarantine) error(['spec', 'model', 'sha256'], quarantineMessage(quarantine), 'quarantine');
  if (!promotion) return { errors, notes: [] };
  const evidence = judgePromotion(records, {
    model,
    artifactSha256: sha256,
    promotion,
    now: input.now ?? new Date(),
  });
  if (!evidence.passed) {
    error(
      ['spec', 'promotion', 'from'],
      `${spec.spec.rollout.environment} takes only what passed ${promotion.from}: ${evidence.problems.join('; ')}`,
      'promotion',
    );
  }
  return {
    errors,
    notes: [],
    promotion: { from: promotion.from, passed: evidence.passed, lines: evidenceLines(evidence) },
  };
}

function planRemoval(
  change: Extract<SpecChange, { change: 'removed' }>,
  deployment: DeploymentKey | undefined,
  declared: Map<string, string[]>,
): SpecPlan {
  const notes: string[] = [];
  const stillAt = deployment ? declared.get(keyString(deployment)) : undefined;
  if (deployment && stillAt && stillAt.length > 0) {
    // Git pairs similar files as renames; only a spec that keeps the deployment is a move.
    if (change.renamedTo && stillAt.includes(change.renamedTo)) notes.push(`renamed to ${change.renamedTo}`);
    notes.push(
      `${stillAt.join(', ')} still deploys ${deployment.model} to ${deployment.environment}: nothing to retire`,
    );
    return {
      path: change.path,
      change: 'removed',
      verdict: 'moved',
      deployment,
      errors: [],
      checks: [],
      notes,
    };
  }
  notes.push(
    deployment
      ? `no spec at head deploys ${deployment.model} to ${deployment.environment}: \`apply\` retires it (a rollout still in progress is cancelled and rolls back first)`
      : 'the spec at base does not name its model and environment, so there is nothing to retire',
  );
  return {
    path: change.path,
    change: 'removed',
    verdict: 'retire',
    ...(deployment ? { deployment } : {}),
    errors: [],
    checks: [],
    notes,
  };
}

function changeNotes(
  change: Exclude<SpecChange, { change: 'removed' }>,
  context: {
    deployment: DeploymentKey | undefined;
    /** Which deployment the spec declared at base. */
    before: DeploymentKey | undefined;
    /** The deployment's spec path at base. */
    basePath: string | undefined;
    /** Whether the effective spec is the same at base and head (a base change it overrides). */
    sameEffective: boolean;
  },
): string[] {
  const { deployment, before, basePath } = context;
  const notes: string[] = [];
  // Git pairs similar files as renames; only one that keeps the deployment is worth saying.
  if (change.change === 'added' && change.renamedFrom && basePath === change.renamedFrom) {
    notes.push(`renamed from ${change.renamedFrom}`);
  }
  if (change.change === 'modified') {
    const files = change.changedFiles.join(', ');
    if (change.reasons.includes('base') && !change.reasons.includes('spec')) {
      notes.push(
        context.sameEffective
          ? `its base changed (${files}), but not in anything this spec deploys (it overrides what changed): \`apply\` leaves it as it is`
          : `its base changed (${files}): the effective spec is new, so \`apply\` rolls it out`,
      );
    } else if (!change.reasons.includes('spec')) {
      notes.push(
        `the spec's text is unchanged, but ${files} changed: \`apply\` keys deployments on the spec's text, so change the spec (the pinned sha256) to roll the new file out`,
      );
    } else if (files !== '') {
      notes.push(`also changed: ${files}`);
    }
    if (before && deployment && keyString(before) !== keyString(deployment)) {
      notes.push(
        `at base this spec deployed ${before.model} to ${before.environment}; that deployment is left as it is (only removing its spec retires it)`,
      );
    }
  }
  return notes;
}

/** The deployment's spec at base, parsed, for the evaluation's comparison with the model it replaces. */
function previousSpec(base: Commit, baseText: string | undefined): Pick<EvaluateSpecInput, 'previous'> {
  if (base === null || baseText === undefined) return {};
  const parsed = parseSpec(baseText);
  return parsed.ok ? { previous: { commit: base, spec: parsed.spec } } : {};
}

function rolloutPlan(spec: ModelDeployment, baseText: string | undefined): RolloutPlan {
  const { steps } = spec.spec.rollout;
  const approvers = [...new Set(steps.flatMap((step) => (step.type === 'approval' ? step.approvers : [])))];
  const previous = baseText === undefined ? undefined : parseSpec(baseText);
  const model = { source: spec.spec.model.source, sha256: spec.spec.model.sha256 };
  return {
    kind: baseText === undefined ? 'new' : 'update',
    model,
    ...(previous?.ok
      ? { previous: { source: previous.spec.spec.model.source, sha256: previous.spec.spec.model.sha256 } }
      : {}),
    steps: steps.map((step) => describeStep(step, 'full')),
    approvers,
    owners: spec.metadata.owners,
  };
}

/**
 * The policy gate of one spec as the plan shows it: the policy file's errors, or every rule's
 * verdict (the default policy's too: it still judges four eyes in production), each failure an
 * error at the spec position to change.
 */
function policyVerdicts(
  spec: ModelDeployment,
  source: LayeredSource,
  loaded: LoadedPolicy,
  report: GateReport,
): { verdicts: PolicyVerdicts; errors: SpecError[] } {
  const base = { environment: spec.spec.rollout.environment, file: loaded.file };
  if (!loaded.ok) return { verdicts: { ...base, status: 'invalid', results: [] }, errors: loaded.errors };
  const { results } = report.policy;
  const errors = results
    .filter((rule) => !rule.passed)
    .map((rule): SpecError => {
      const path = rule.path ?? [];
      return {
        ...placeOf(source, path),
        path: formatPath(path),
        message: `${rule.reason} (${loaded.file}: ${rule.rule})`,
        rule: `${POLICY_RULE_PREFIX}${rule.rule}`,
      };
    });
  return {
    verdicts: { ...base, status: loaded.origin === 'default' ? 'none' : 'judged', results },
    errors,
  };
}

/** Every deployment declared by a spec at `commit`, with the spec paths declaring it. */
async function deploymentsAt(
  reader: CommitReader,
  commit: string,
  specsDir: string,
): Promise<Map<string, string[]>> {
  const declared = new Map<string, string[]>();
  const paths = [...(await reader.files(commit))].filter((path) => isSpecFile(path, specsDir)).sort(compare);
  for (const path of paths) {
    const text = await reader.readText(commit, path);
    if (!declaresModelDeployment(text)) continue;
    const key = specIdentity(await effectiveTextAt(reader, commit, text));
    if (key === undefined) continue;
    declared.set(keyString(key), [...(declared.get(keyString(key)) ?? []), path]);
  }
  return declared;
}

function keyOf(spec: ModelDeployment): DeploymentKey {
  return { model: spec.metadata.name, environment: spec.spec.rollout.environment };
}

function keyString(key: DeploymentKey): string {
  return deployModelWorkflowId(key);
}
