/** `modelship status`: every rollout (latest run per model and environment), as the Web UI shows it. */
import type { Client, WorkflowExecutionInfo } from '@temporalio/client';
import {
  deploymentLabel,
  parseDeployModelWorkflowId,
  parseDeploymentLabel,
} from '../../domain/deployment.ts';
import { isDeployedOutcome } from '../../gitops/apply-decision.ts';
import { checkServing } from '../../gitops/start-reconcile.ts';
import { loadConfig } from '../../worker/config.ts';
import { connectClient as connect } from '../../worker/connection.ts';
import type { DeployModel, DeployModelResult } from '../../workflows/deploy-model.ts';
import { monitorStatusQuery, statusQuery } from '../../workflows/messages.ts';
import { monitorTextLines } from '../../workflows/monitor-status.ts';
import type { RetireModelResult } from '../../workflows/retire-model.ts';
import { RolloutStageKey } from '../../workflows/search-attributes.ts';
import { type DeploymentStatus, estimateLines } from '../../workflows/status.ts';
import { type Command, parseCommandArgs } from '../command.ts';
import { renderStatus, type StatusRow } from '../status-table.ts';

const USAGE = `Usage: modelship status [--json] [--all]

Lists the latest DeployModel or RetireModel run of every model and environment on
$TEMPORAL_ADDRESS: state, stage, commit, traffic split and what it waits for; for running
rollouts, the last verdict of the live analysis as a table; for models that serve all
traffic, what their monitor has looked at and found (drift, data quality, live accuracy). --all lists every run, not only the latest of each deployment.`;

/** How long one run may take to answer its status query. */
export const QUERY_DEADLINE_MS = 5_000;
/**
 * How many runs are asked at once. A run whose worker is gone answers only at the deadline, so
 * asking one after another would cost the deadline once per such run; side by side it costs it
 * about once per this many.
 */
const QUERIES_AT_ONCE = 16;

/** `describe` applied to every item, at most `limit` at a time, results in the items' order. */
async function mapBounded<T, R>(
  items: readonly T[],
  limit: number,
  describe: (item: T) => Promise<R>,
): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const lane = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await describe(items[index] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
  return results;
}

function trafficOf(status: DeploymentStatus | undefined): string {
  const rollout = status?.rollout;
  if (!status?.dataPlane) return '';
  if (!rollout) return `stable ${status.dataPlane.stable ?? '?'}`;
  return `${status.dataPlane.stable ?? '?'} ${100 - rollout.canaryWeight}% / ${status.dataPlane.version} ${rollout.canaryWeight}%${rollout.shadow ? ' +shadow' : ''}`;
}

async function describeRun(
  client: Client,
  workflowId: string,
  runId: string,
  state: string,
  type: string,
): Promise<StatusRow> {
  const handle = client.workflow.getHandle<typeof DeployModel>(workflowId, runId);
  const key = parseDeployModelWorkflowId(workflowId);
  const base = { deployment: key ? deploymentLabel(key) : workflowId, state: state.toLowerCase() };
  // A retirement is short and has no status query: its stage comes from the search attribute.
  if (state === 'RUNNING' && type === 'RetireModel') {
    return { ...base, stage: '', commit: '', traffic: '', note: 'retiring from the data plane' };
  }
  if (state === 'RUNNING') {
    // A run whose worker is gone cannot answer: say so on its row instead of failing the list.
    const status = await client.connection
      .withDeadline(Date.now() + QUERY_DEADLINE_MS, () => handle.query(statusQuery))
      .catch((error: unknown) => error as Error);
    if (status instanceof Error) {
      return {
        ...base,
        stage: '',
        commit: '',
        traffic: '',
        note: `no answer to the status query (is a modelship worker running?): ${status.message.split('\n')[0]}`,
      };
    }
    const waiting = status.waitingFor
      ? `waiting for approval by ${status.waitingFor.approvers.join(' or ')}`
      : '';
    return {
      ...base,
      stage: status.stage,
      commit: status.commit.slice(0, 12),
      traffic: trafficOf(status),
      note: waiting || (status.lastVerdict ? `last verdict: ${status.lastVerdict.verdict.outcome}` : ''),
      ...(status.lastVerdict ? { verdict: status.lastVerdict } : {}),
      ...(status.rollout?.estimates ? { estimates: estimateLines(status.rollout.estimates) } : {}),
    };
  }
  if (state === 'COMPLETED') {
    const result: DeployModelResult | RetireModelResult = await handle.result();
    // Git still names the version that was rolled back; say that apply will leave it alone.
    const held =
      result.outcome === 'rolled-back' || result.outcome === 'rejected'
        ? ' (apply will not redeploy this spec until it changes)'
        : '';
    return {
      ...base,
      stage: result.outcome,
      commit: result.commit.slice(0, 12),
      traffic: '',
      note: `${result.summary}${held}`,
    };
  }
  return { ...base, stage: '', commit: '', traffic: '', note: `run ${runId} ${state.toLowerCase()}` };
}

/** How long `status` waits for a worker to say what the data plane serves. */
const SERVING_CHECK_MS = 8_000;

/**
 * Asks a worker, once per environment, whether what Temporal calls deployed is served (an
 * observe-only reconcile pass), and says so on each completed row: a deployment no replica
 * serves is never shown as simply deployed. Returns the drift lines to print under the table.
 */
async function confirmServing(client: Client, taskQueue: string, rows: StatusRow[]): Promise<string[]> {
  const deployed = rows.filter((row) => row.state === 'completed' && isDeployedOutcome(row.stage));
  const environments = [...new Set(deployed.map((row) => parseDeploymentLabel(row.deployment)?.environment))];
  const lines: string[] = [];
  const checks = await Promise.all(
    environments.flatMap((environment) =>
      environment
        ? [
            checkServing(client, taskQueue, environment, SERVING_CHECK_MS).then((check) => ({
              environment,
              check,
            })),
          ]
        : [],
    ),
  );
  for (const { environment, check } of checks) {
    const here = deployed.filter((row) => parseDeploymentLabel(row.deployment)?.environment === environment);
    if ('error' in check) {
      for (const row of here) {
        row.served = false;
        row.note = `serving not confirmed (${check.error}); ${row.note}`;
      }
      continue;
    }
    for (const row of here) {
      const model = parseDeploymentLabel(row.deployment)?.model ?? '';
      const serving = check.report.serving[model];
      row.served = serving?.served === true;
      if (!row.served) {
        row.stage = `${row.stage}, NOT SERVED`;
        row.note = `${serving?.why ?? 'the data plane does not serve it'} (\`modelship reconcile --env ${environment}\` repairs it); ${row.note}`;
      }
    }
    for (const finding of check.report.findings) {
      lines.push(`drift in ${environment} (${finding.layer}): ${finding.message}`);
    }
  }
  return lines;
}

/**
 * Puts each running monitor's state on its deployment's row: what it has looked at and what it
 * found. A monitor that does not answer in time is named as such, never left out silently.
 */
async function addMonitors(client: Client, rows: StatusRow[]): Promise<void> {
  const query = "WorkflowType = 'MonitorModel' AND ExecutionStatus = 'Running'";
  const monitored: { run: WorkflowExecutionInfo; label: string; row: StatusRow }[] = [];
  for await (const run of client.workflow.list({ query })) {
    const [, environment, model] = run.workflowId.split('/');
    const label = model && environment ? deploymentLabel({ model, environment }) : run.workflowId;
    const row = rows.find((candidate) => candidate.deployment === label);
    if (row) monitored.push({ run, label, row });
  }
  await mapBounded(monitored, QUERIES_AT_ONCE, async ({ run, label, row }) => {
    const status = await client.connection
      .withDeadline(Date.now() + QUERY_DEADLINE_MS, () =>
        client.workflow.getHandle(run.workflowId, run.runId).query(monitorStatusQuery),
      )
      .catch((error: unknown) => error as Error);
    row.monitor =
      status instanceof Error
        ? [
            `${label}: monitor not answering (is a modelship worker running?): ${status.message.split('\n')[0]}`,
          ]
        : monitorTextLines(status);
  });
}

export const command: Command = {
  async run(argv) {
    const { values } = parseCommandArgs(argv, { json: { type: 'boolean' }, all: { type: 'boolean' } }, USAGE);
    const client = await connect(loadConfig());
    try {
      const seen = new Set<string>();
      const runs: WorkflowExecutionInfo[] = [];
      const query = "WorkflowType IN ('DeployModel', 'RetireModel')";
      for await (const run of client.workflow.list({ query })) {
        if (!values.all && seen.has(run.workflowId)) continue;
        seen.add(run.workflowId);
        runs.push(run);
      }
      const rows = await mapBounded(runs, QUERIES_AT_ONCE, async (run) => {
        const row = await describeRun(client, run.workflowId, run.runId, run.status.name, run.type);
        if (!row.stage) row.stage = String(run.typedSearchAttributes.get(RolloutStageKey) ?? '');
        return row;
      });
      rows.sort((a, b) => a.deployment.localeCompare(b.deployment));
      await addMonitors(client, rows);
      const drift = await confirmServing(client, loadConfig().taskQueue, rows);
      if (values.json) {
        console.log(JSON.stringify(rows, null, 2));
      } else {
        console.log(renderStatus(rows));
        for (const line of drift) console.log(line);
      }
      return 0;
    } finally {
      await client.connection.close();
    }
  },
};
