/**
 * `modelship reconcile --env E`: one reconcile pass now, run by a worker (the `Reconcile`
 * workflow), printed; or `--every 5m` to keep a Temporal Schedule running it; `--unschedule`
 * to stop. See `gitops/reconcile.ts` for what a pass compares and repairs.
 */
import { simpleGit } from 'simple-git';
import { type ReconcileReport, type ReconcileRequest, repairOf } from '../../domain/reconcile.ts';
import { repositoryLine, repositoryUrl } from '../../gitops/repository-url.ts';
import {
  reconcileWorkflowId,
  runReconcile,
  scheduleReconcile,
  unscheduleReconcile,
} from '../../gitops/start-reconcile.ts';
import { parseDuration } from '../../specs/duration.ts';
import { loadConfig } from '../../worker/config.ts';
import { connectClient } from '../../worker/connection.ts';
import { CliError, type Command, parseCommandArgs } from '../command.ts';

const USAGE = `Usage: modelship reconcile --env <environment> [--repository URL] [--ref REF] [--specs-dir DIR]
                          [--check] [--json] [--every DURATION | --unschedule]

Compares, for one environment, Git (the specs at the deploy branch's head), Temporal (each
deployment's runs) and the data plane (the desired state and every replica's report), through a
worker (workflow reconcile/<environment>; the Web UI shows its findings):
  data-plane drift   (a model missing or another version stable than Temporal's last run left,
                     a canary with no rollout running, a retired model still routed) is repaired
  Git drift          (a spec at head not deployed, a deployment no spec declares) is reported,
                     and applied when policies/<environment>.yaml says reconcile.gitDrift: apply
  replicas           lagging, failed or none live: reported (replicas converge by themselves)
Every pass that repairs is written to the audit log.

Options:
  --env E           the environment (required)
  --repository URL  where workers fetch the deploy branch (default as apply: $MODELSHIP_REPOSITORY_URL,
                    GitHub Actions' repository, the checkout's origin, else the checkout's path)
  --ref REF         the deploy branch (default: HEAD, the repository's default branch)
  --specs-dir DIR   folder of specs inside the repository (default: specs)
  --no-git          compare Temporal and the data plane only
  --check           report only: repair nothing, apply nothing, audit nothing
  --every DURATION  create or update the Temporal Schedule reconcile/<environment> running a pass
                    every DURATION (e.g. 5m), then exit
  --unschedule      delete that schedule
  --json            print the report as JSON

Exit status: 0 no drift left, 1 drift left (or a pass that failed), 2 usage error.`;

export const command: Command = {
  async run(argv) {
    const { values } = parseCommandArgs(
      argv,
      {
        env: { type: 'string' },
        repository: { type: 'string' },
        ref: { type: 'string' },
        'specs-dir': { type: 'string', default: 'specs' },
        'no-git': { type: 'boolean' },
        check: { type: 'boolean' },
        every: { type: 'string' },
        unschedule: { type: 'boolean' },
        json: { type: 'boolean' },
      },
      USAGE,
    );
    const environment = typeof values.env === 'string' ? values.env : undefined;
    if (!environment || !/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/.test(environment)) {
      throw new CliError(`--env must name an environment (a DNS label)\n\n${USAGE}`);
    }
    const everyMs = typeof values.every === 'string' ? everyOf(values.every) : undefined;
    const config = loadConfig();
    const client = await connectClient(config);
    try {
      if (values.unschedule) {
        const deleted = await unscheduleReconcile(client, environment);
        console.log(
          deleted
            ? `reconcile: schedule ${reconcileWorkflowId(environment)} deleted`
            : `reconcile: there was no schedule ${reconcileWorkflowId(environment)}`,
        );
        return 0;
      }
      const request: ReconcileRequest = { environment, repair: values.check !== true };
      if (values['no-git'] !== true) {
        const root = await simpleGit('.')
          .revparse(['--show-toplevel'])
          .then((text) => text.trim())
          .catch(() => '.');
        const repository = await repositoryUrl({
          root,
          env: process.env,
          flag: typeof values.repository === 'string' ? values.repository : undefined,
        });
        console.error(repositoryLine('reconcile', repository));
        request.repository = repository.url;
        request.specsDir = String(values['specs-dir']);
        if (typeof values.ref === 'string') request.ref = values.ref;
      }
      if (everyMs !== undefined) {
        const done = await scheduleReconcile(client, config.taskQueue, request, everyMs);
        console.log(
          `reconcile: schedule ${reconcileWorkflowId(environment)} ${done}: a pass every ${String(values.every)} on task queue ${config.taskQueue}`,
        );
        return 0;
      }
      const report = await runReconcile(client, config.taskQueue, request);
      console.log(values.json ? JSON.stringify(report, null, 2) : renderReport(report).join('\n'));
      return report.remaining.length === 0 ? 0 : 1;
    } finally {
      await client.connection.close();
    }
  },
};

function everyOf(text: string): number {
  try {
    const ms = parseDuration(text);
    if (ms >= 1_000) return ms;
  } catch {
    // Reported below with the usage.
  }
  throw new CliError(`--every takes a duration of at least 1s (e.g. 30s, 5m), not "${text}"\n\n${USAGE}`);
}

/** The report as people read it: findings, repairs, what was applied, what is left. */
export function renderReport(report: ReconcileReport): string[] {
  const at = report.commit ? ` at ${report.commit.slice(0, 12)}` : ' (Git not compared)';
  const lines = [`reconcile ${report.environment}${at}: desired generation ${report.generation}`];
  lines.push(`  replicas: ${report.convergence.message}`);
  if (report.findings.length === 0) lines.push('  no drift');
  for (const finding of report.findings) {
    const repair = repairOf(report, finding);
    const fixed = repair ? (repair.done ? ' [repaired]' : ` [not repaired: ${repair.detail}]`) : '';
    lines.push(`  drift (${finding.layer}, ${finding.kind}): ${finding.message}${fixed}`);
  }
  if (report.applied) {
    for (const line of report.applied.lines) lines.push(`  ${line}`);
  } else if (report.findings.some((f) => f.kind === 'not-deployed' || f.kind === 'undeclared')) {
    lines.push(
      `  Git drift reported only: policies/${report.environment}.yaml has reconcile.gitDrift: ${report.gitDriftPolicy}`,
    );
  }
  lines.push(
    report.remaining.length === 0
      ? `reconcile ${report.environment}: no drift left`
      : `reconcile ${report.environment}: ${report.remaining.length} drift finding(s) left`,
  );
  return lines;
}
