/**
 * `modelship revert <model> --env E`: after an automatic rollback the data plane serves the
 * version before, but the spec in Git still names the artifact that was rolled back (and is now
 * quarantined). This writes the commit that puts the spec's `spec.model` back to the artifact the
 * environment actually serves, so Git and the data plane agree again.
 *
 * What serves is read from the audit log (`audit/serving-history.ts`, the same fold as
 * `modelship history`): the stable period that has not ended, and the commit of the spec that
 * brought it in. That commit's spec names the artifact: its source and sha256 are taken from it,
 * in this repository, and written into the current spec with everything else kept.
 */

import { simpleGit } from 'simple-git';
import type { AuditRecord } from '../audit/record.ts';
import { foldServingHistory } from '../audit/serving-history.ts';
import { effectiveText, readBaseAhead } from '../specs/overlay.ts';
import { isSpecFile } from './changes.ts';
import { modelOf, specNaming, specsOf } from './promote.ts';
import { type CommitPlacement, commitSpec, SpecCommitError } from './spec-commit.ts';
import { declaresModelDeployment, specIdentity } from './spec-fields.ts';

/** Why the revert cannot be written: a sentence for the person who asked. */
export class RevertError extends Error {
  override readonly name = 'RevertError';
}

/** Where the commit goes (`branch`, `push`, `pullRequest`), as for `promote`. */
export interface RevertInput extends CommitPlacement {
  root: string;
  specsDir: string;
  model: string;
  environment: string;
  /** The model's audit records, from a log that verified. */
  records: readonly AuditRecord[];
  dryRun?: boolean;
  out?: (line: string) => void;
}

export interface RevertResult {
  specPath: string;
  serving: { version: string; commit: string };
  artifact: { source: string; sha256: string };
  /** The artifact the spec named before. */
  was: { source: string; sha256: string };
  unchanged?: boolean;
  commit?: string;
  branch?: string;
  pullRequest?: string;
}

export async function revertToServing(input: RevertInput): Promise<RevertResult> {
  const out = input.out ?? (() => {});
  const { model, environment } = input;
  const where = `${model}@${environment}`;
  const { periods } = foldServingHistory(input.records, { model, environment });
  const serving = periods.find((period) => period.role === 'stable' && period.to === null);
  if (!serving) throw new RevertError(`the audit log has no version of ${where} serving now`);
  if (!serving.commit) {
    throw new RevertError(
      `the audit log does not say which commit brought ${where} version ${serving.version} in`,
    );
  }
  const target = (await specsOf(input.root, input.specsDir, model)).get(environment);
  if (!target) throw new RevertError(`no spec in ${input.specsDir}/ declares ${where}`);
  const then = await specAt(input.root, input.specsDir, serving.commit, model, environment);
  const artifact = modelOf(then.text, `${then.path} at ${serving.commit.slice(0, 12)}`);
  const was = modelOf(target.effective, target.path);
  const result: RevertResult = {
    specPath: target.path,
    serving: { version: serving.version, commit: serving.commit },
    artifact,
    was,
  };
  out(
    `revert: ${where} serves version ${serving.version}, brought in by commit ${serving.commit.slice(0, 12)}: ${artifact.source} sha256:${artifact.sha256.slice(0, 12)}`,
  );
  if (was.sha256 === artifact.sha256 && was.source === artifact.source) {
    out(`revert: ${target.path} already names it: nothing to commit`);
    return { ...result, unchanged: true };
  }
  const rewritten = specNaming(target, artifact, input.root);
  if ('problems' in rewritten) throw new RevertError(rewritten.problems);
  const { text } = rewritten;
  if (input.dryRun) {
    out(`revert: would set spec.model of ${target.path} to ${artifact.source} sha256:${artifact.sha256}`);
    return result;
  }
  const message = [
    `revert ${where} to the serving artifact sha256:${artifact.sha256.slice(0, 12)}`,
    '',
    `The data plane serves version ${serving.version} (brought in by ${serving.commit}); the spec named`,
    `${was.source} sha256:${was.sha256}, which does not serve.`,
    '',
    `Modelship-Revert: ${environment}`,
    `Modelship-Artifact: sha256:${artifact.sha256}`,
  ].join('\n');
  try {
    const committed = await commitSpec({
      root: input.root,
      path: target.path,
      text,
      message,
      description: `${message.split('\n').slice(2, 4).join(' ')}\n\nWritten by \`modelship revert\`, so that Git names what serves.`,
      placement: input,
      command: 'revert',
      out,
    });
    return { ...result, ...committed };
  } catch (error) {
    if (error instanceof SpecCommitError) throw new RevertError(error.message);
    throw error;
  }
}

/** The spec of `model@environment` as it was at `commit` (a commit of this repository). */
async function specAt(
  root: string,
  specsDir: string,
  commit: string,
  model: string,
  environment: string,
): Promise<{ path: string; text: string }> {
  const git = simpleGit(root);
  let listing: string;
  try {
    listing = await git.raw(['ls-tree', '-r', '--name-only', commit, '--', specsDir]);
  } catch {
    throw new RevertError(`commit ${commit} is not in this repository: fetch it first (git fetch)`);
  }
  const show = (path: string) => git.show([`${commit}:${path}`]).catch(() => undefined);
  for (const path of listing.split('\n').filter((p) => isSpecFile(p, specsDir))) {
    const written = await git.show([`${commit}:${path}`]);
    if (!declaresModelDeployment(written)) continue;
    // The effective spec then: a spec over a base may have named its model only in the base.
    const text = effectiveText(written, await readBaseAhead(written, show));
    const key = specIdentity(text);
    if (key?.model === model && key.environment === environment) return { path, text };
  }
  throw new RevertError(`no spec of ${model}@${environment} at commit ${commit.slice(0, 12)}`);
}
