/**
 * `modelship plan --base <ref> --head <ref>`: what merging would do to the deployments, as a
 * markdown comment for the pull request (or JSON). Needs git and, to run each changed model on
 * its holdout, onnxruntime (the project's own dependency); never Temporal or a worker.
 */
import { CommitReader, GitError } from '../../gitops/git.ts';
import { buildPlan } from '../../gitops/plan.ts';
import { renderPlanMarkdown } from '../../gitops/plan-markdown.ts';
import { CliError, type Command, parseCommandArgs } from '../command.ts';
import { openReleaseRecords } from '../release-records.ts';

const USAGE = `Usage: modelship plan --base <ref> --head <ref> [--repo DIR] [--specs-dir DIR] [--format markdown|json]

Lists the ModelDeployment specs added, changed or removed between two commits (files under
--specs-dir whose text declares kind: ModelDeployment, read at the commits, never from the
working tree). For each: schema and rule errors with positions, the ship gates the workflow
applies, on the files at head (pinned sha256, the scan under the policy's limits, secrets,
signatures, the policy's rules), and the rollout \`apply\` would start. Each valid spec's
model is then run on its holdout, as validation will after merge (personal data in the holdout
judged by the policy first): the report (per class, calibration, slices, what drives the
predictions and how that shifted from the model replaced) goes into the plan, and a model below
a floor fails it. Latency is measured on this machine and only shown.

Options:
  --base REF        the commit merged into, e.g. origin/main (the null sha means "nothing")
  --head REF        the commit to plan, e.g. HEAD
  --repo DIR        the repository (default: the current directory)
  --specs-dir DIR   folder of specs inside the repository (default: specs)
  --format FORMAT   markdown (default, for a PR comment) or json
  --no-evaluate     do not run the models (schema, gates and policy only)
  -h, --help

Exit status: 0 every spec is valid, 1 some spec is invalid or fails a gate,
2 usage error (unknown ref, not a repository).`;

export const command: Command = {
  async run(argv) {
    const { values } = parseCommandArgs(
      argv,
      {
        base: { type: 'string' },
        head: { type: 'string' },
        repo: { type: 'string', default: '.' },
        'specs-dir': { type: 'string', default: 'specs' },
        format: { type: 'string', default: 'markdown' },
        'no-evaluate': { type: 'boolean', default: false },
      },
      USAGE,
    );
    const { base, head, repo, format } = values;
    if (typeof base !== 'string' || typeof head !== 'string') {
      throw new CliError(`--base and --head are required\n\n${USAGE}`);
    }
    if (format !== 'markdown' && format !== 'json') {
      throw new CliError(`--format must be markdown or json, got "${String(format)}"\n\n${USAGE}`);
    }
    const release = await openReleaseRecords();
    const { plan } = await buildPlan({
      reader: await openRepo(String(repo)),
      base,
      head,
      specsDir: String(values['specs-dir']),
      ...(release ? { release: release.records } : {}),
      ...(values['no-evaluate'] ? {} : { evaluate: {} }),
    })
      .catch(asUsageError)
      .finally(() => release?.close());
    process.stdout.write(format === 'json' ? `${JSON.stringify(plan, null, 2)}\n` : renderPlanMarkdown(plan));
    return plan.summary.invalid > 0 ? 1 : 0;
  },
};

/** Opens the repository, turning "not a repository" into a usage error. */
export async function openRepo(dir: string): Promise<CommitReader> {
  return CommitReader.open(dir).catch(asUsageError);
}

/** Git problems (unknown ref, no repository) are the caller's to fix: one line, exit 2. */
export function asUsageError(error: unknown): never {
  throw error instanceof GitError ? new CliError(error.message) : error;
}
