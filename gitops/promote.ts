/**
 * `modelship promote <model> --from staging --to production`: Git stays the source of truth, so a
 * promotion is a commit. It finds both environments' specs of the model in the working tree,
 * takes the artifact the `from` spec names (or one named by its sha256), checks on the audit log
 * that it is not quarantined and that it passed `from` as the target spec's `spec.promotion`
 * asks, rewrites the target spec's `spec.model` to exactly that artifact (comments and layout
 * kept), validates the result like any spec, and commits it with the evidence in the message, on
 * the current branch or a new one, optionally pushed and proposed as a pull request
 * (`spec-commit.ts`). The workflow judges again after merge, on the same audit log with the same
 * functions.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { simpleGit } from 'simple-git';
import { isMap, parseDocument } from 'yaml';
import type { LifeRecord } from '../release/artifact-life.ts';
import { evidenceLines, judgePromotion, type PromotionEvidence } from '../release/promotion.ts';
import { quarantineMessage, quarantineOf } from '../release/quarantine.ts';
import { EXTENDS_KEY, effectiveText } from '../specs/overlay.ts';
import { formatSpecError, parseSpec } from '../specs/parse.ts';
import { repoFileReader } from '../specs/parse-file.ts';
import type { PromotionSpec } from '../specs/promotion-schema.ts';
import { isSpecFile } from './changes.ts';
import { type CommitPlacement, commitSpec, SpecCommitError } from './spec-commit.ts';
import { declaresModelDeployment, specIdentity } from './spec-fields.ts';

/** Why a promotion cannot be written: a sentence for the person who asked. */
export class PromoteError extends Error {
  override readonly name = 'PromoteError';
}

export interface PromoteInput extends CommitPlacement {
  /** The repository's working tree. */
  root: string;
  specsDir: string;
  model: string;
  from: string;
  to: string;
  /** The artifact to promote; default the one the `from` spec names. */
  artifactSha256?: string;
  /** Where that artifact is (`spec.model.source`), when it is not the one the `from` spec names. */
  artifactSource?: string;
  /** The model's audit records, from a log that verified (`release/verified-records.ts`). */
  records: readonly LifeRecord[];
  now: Date;
  /** Judge and show, change nothing. */
  dryRun?: boolean;
  out?: (line: string) => void;
}

export interface PromoteResult {
  specPath: string;
  artifact: { source: string; sha256: string };
  evidence: PromotionEvidence;
  /** Absent on a dry run, and when the target already names the artifact. */
  commit?: string;
  branch?: string;
  /** The pull request's web address, when one was opened. */
  pullRequest?: string;
  unchanged?: boolean;
}

/** When the target spec has no `spec.promotion`: the artifact must have served there, that is all. */
const BARE_PROMOTION = (from: string): PromotionSpec => ({ from, minSoak: '0s', minSoakMs: 0, require: [] });

export async function promote(input: PromoteInput): Promise<PromoteResult> {
  const out = input.out ?? (() => {});
  const { model, from, to } = input;
  if (from === to) throw new PromoteError(`--from and --to are both ${from}: name two environments`);
  const specs = await specsOf(input.root, input.specsDir, model);
  const source = specs.get(from);
  const target = specs.get(to);
  if (!target) {
    throw new PromoteError(
      `no spec in ${input.specsDir}/ declares ${model} for ${to} (metadata.name ${model}, spec.rollout.environment ${to}); found ${describeSpecs(specs)}`,
    );
  }
  const named = source ? modelOf(source.effective, source.path) : undefined;
  const sha256 = input.artifactSha256 ?? named?.sha256;
  if (!sha256) {
    throw new PromoteError(
      `no spec in ${input.specsDir}/ declares ${model} for ${from}: name the artifact with --sha256 and --source`,
    );
  }
  // Where the bytes are: as the `from` spec names them, or as the caller says for another artifact.
  const sourcePath = input.artifactSource ?? (named?.sha256 === sha256 ? named.source : undefined);
  if (!sourcePath) {
    throw new PromoteError(
      `the ${from} spec names another artifact than sha256:${sha256.slice(0, 12)}: say where it is with --source`,
    );
  }
  const artifact = { sha256, source: sourcePath };

  const quarantine = quarantineOf(input.records, model, artifact.sha256);
  if (quarantine) throw new PromoteError(quarantineMessage(quarantine));

  const targetSpec = parseSpec(target.text, { file: target.path, readFile: repoFileReader(input.root) });
  const promotion =
    targetSpec.ok && targetSpec.spec.spec.promotion ? targetSpec.spec.spec.promotion : undefined;
  if (promotion && promotion.from !== from) {
    throw new PromoteError(
      `${target.path} takes its versions from ${promotion.from} (spec.promotion.from), not from ${from}`,
    );
  }
  const evidence = judgePromotion(input.records, {
    model,
    artifactSha256: artifact.sha256,
    promotion: promotion ?? BARE_PROMOTION(from),
    now: input.now,
  });
  const lines = evidenceLines(evidence);
  for (const line of lines) out(`promote: ${line}`);
  if (!promotion) out(`promote: ${target.path} has no spec.promotion: only "served in ${from}" is required`);
  if (!evidence.passed) {
    throw new PromoteError(
      `${model} sha256:${artifact.sha256.slice(0, 12)} did not pass ${from}: ${evidence.problems.join('; ')}`,
    );
  }

  const current = modelOf(target.effective, target.path);
  const result: PromoteResult = {
    specPath: target.path,
    artifact: { source: sourcePath, sha256: artifact.sha256 },
    evidence,
  };
  if (current.sha256 === artifact.sha256 && current.source === sourcePath) {
    out(`promote: ${target.path} already names sha256:${artifact.sha256.slice(0, 12)}: nothing to commit`);
    return { ...result, unchanged: true };
  }
  const rewritten = specNaming(target, { source: sourcePath, sha256: artifact.sha256 }, input.root);
  if ('problems' in rewritten) throw new PromoteError(rewritten.problems);
  const { text } = rewritten;
  if (input.dryRun) {
    out(`promote: would set spec.model of ${target.path} to ${sourcePath} sha256:${artifact.sha256}`);
    return result;
  }

  const message = [
    `promote ${model} sha256:${artifact.sha256.slice(0, 12)} from ${from} to ${to}`,
    '',
    ...lines,
    '',
    `Modelship-Promotion: ${from} -> ${to}`,
    `Modelship-Artifact: sha256:${artifact.sha256}`,
  ].join('\n');
  try {
    const committed = await commitSpec({
      root: input.root,
      path: target.path,
      text,
      message,
      description: promotionBody(lines, artifact.sha256, from, to),
      placement: input,
      command: 'promote',
      out,
    });
    return { ...result, ...committed };
  } catch (error) {
    if (error instanceof SpecCommitError) throw new PromoteError(error.message);
    throw error;
  }
}

/** The pull request's description: the evidence, for the reviewer who merges it. */
function promotionBody(lines: string[], sha256: string, from: string, to: string): string {
  return [
    `Promotes model artifact \`sha256:${sha256}\` from **${from}** to **${to}**; written by \`modelship promote\`.`,
    '',
    '```',
    ...lines,
    '```',
    '',
    'DeployModel judges the same evidence again when this is applied.',
  ].join('\n');
}

interface SpecFile {
  path: string;
  /** The file as written: what a promotion rewrites. */
  text: string;
  /** The effective spec (merged over its base, when it has one): what the environment deploys. */
  effective: string;
}

/** The model's specs in the working tree, by environment. Two for one environment is an error. */
export async function specsOf(root: string, specsDir: string, model: string): Promise<Map<string, SpecFile>> {
  const files = await simpleGit(root).raw([
    'ls-files',
    '--cached',
    '--others',
    '--exclude-standard',
    specsDir,
  ]);
  const found = new Map<string, SpecFile>();
  for (const path of files.split('\n').filter((p) => isSpecFile(p, specsDir))) {
    const text = await readFile(join(root, path), 'utf8').catch(() => undefined);
    if (text === undefined || !declaresModelDeployment(text)) continue;
    const effective = effectiveText(text, repoFileReader(root));
    const key = specIdentity(effective);
    if (key?.model !== model) continue;
    const other = found.get(key.environment);
    if (other) {
      throw new PromoteError(`${other.path} and ${path} both declare ${model} for ${key.environment}`);
    }
    found.set(key.environment, { path, text, effective });
  }
  return found;
}

function describeSpecs(specs: Map<string, SpecFile>): string {
  if (specs.size === 0) return 'no spec of it at all';
  return [...specs].map(([environment, spec]) => `${environment} in ${spec.path}`).join(', ');
}

/** `spec.model.source` and `.sha256` as written (the spec may be invalid in other ways). */
export function modelOf(text: string, path: string): { source: string; sha256: string } {
  const data = parseDocument(text).toJS() as { spec?: { model?: { source?: unknown; sha256?: unknown } } };
  const { source, sha256 } = data?.spec?.model ?? {};
  if (typeof source !== 'string' || typeof sha256 !== 'string') {
    throw new PromoteError(`${path} has no spec.model.source and spec.model.sha256`);
  }
  return { source, sha256 };
}

/**
 * The spec text with `spec.model.source` and `.sha256` replaced, everything else as it was, or
 * why that text would not be a valid spec. A spec over a base that names the model only in its
 * base gets its own `spec.model` with the two fields: the override belongs to its environment,
 * and the base (shared by the others) is left alone.
 */
export function specNaming(
  spec: { path: string; text: string },
  model: { source: string; sha256: string },
  root?: string,
): { text: string } | { problems: string } {
  const document = parseDocument(spec.text);
  const node = document.getIn(['spec', 'model'], true);
  if (node === undefined && document.has(EXTENDS_KEY)) {
    document.setIn(['spec', 'model'], document.createNode({ source: model.source, sha256: model.sha256 }));
  } else if (!isMap(node)) {
    return { problems: `${spec.path}: spec.model is not a mapping` };
  } else {
    node.set('source', model.source);
    node.set('sha256', model.sha256);
  }
  const text = document.toString();
  const checked = parseSpec(text, {
    file: spec.path,
    ...(root !== undefined ? { readFile: repoFileReader(root) } : {}),
  });
  if (checked.ok) return { text };
  return {
    problems: `${spec.path} would not be a valid spec with that artifact:\n${checked.errors.map(formatSpecError).join('\n')}`,
  };
}
