/**
 * The activities of `MonitorModel`: reading what the data plane counted for the promoted version
 * (summed over the fleet) and its reference profile, and sending what a finding sets off (an
 * alert, a retraining request) to the spec's webhooks.
 *
 * A webhook call carries an `Idempotency-Key` that is the same for every attempt and every run of
 * the monitor (its first run id, the finding, the action): a receiver that keeps the keys it saw
 * acts once even when an answer was lost and the activity retried. The JSON bodies are documented
 * in docs/monitoring.md.
 */

import type { Finding, LabelCounts, MonitorSummary } from '../analysis/monitor-look.ts';
import type { DeploymentRef } from '../domain/deployment.ts';
import { FailureType } from '../domain/failure-types.ts';
import type { LiveStatistics, ReferenceProfile } from '../domain/reference-profile.ts';
import { domainFailure } from './failures.ts';

/** Where the monitor's numbers come from: the data plane, one process or the fleet of replicas. */
export interface MonitoringSources {
  /** Every loaded version's statistics for the model, summed over the replicas that report. */
  statistics(environment: string, model: string): Promise<LiveStatistics[]>;
  /** The reference profile of a loaded version, from the bundle the data plane serves it from. */
  profile(environment: string, model: string, version: string): Promise<ReferenceProfile | undefined>;
  /** Labels fed back for a version, if the data plane has any. */
  labels?(environment: string, model: string, version: string): Promise<LabelCounts | undefined>;
}

interface MonitoringDeps {
  sources: MonitoringSources;
  /** The worker's environment, for webhook tokens (`MODELSHIP_WEBHOOK_*`). */
  env?: NodeJS.ProcessEnv;
  /** Per webhook call. */
  timeoutMs?: number;
}

/** What one look reads: whether the version still serves, and its counters. */
export interface MonitorReading {
  /** False once the data plane no longer has the version (replaced, rolled back or retired). */
  served: boolean;
  statistics?: LiveStatistics;
  labels?: LabelCounts;
  profile?: ReferenceProfile;
}

/** One action a finding sets off. */
export interface MonitorActionInput {
  deployment: DeploymentRef;
  kind: 'alert' | 'retraining';
  url: string;
  tokenEnv?: string;
  /** The retraining request's body format; alerts are always modelship's JSON. */
  format?: 'repository_dispatch' | 'issue' | 'webhook';
  eventType?: string;
  idempotencyKey: string;
  version: string;
  bundleDigest: string;
  findings: Finding[];
  summary: MonitorSummary;
  monitor: { workflowId: string; runId: string };
  time: string;
}

/** The version names of the body formats, so receivers can tell them apart as they change. */
export const ALERT_BODY_TYPE = 'modelship.monitor.finding/v1';
export const RETRAINING_BODY_TYPE = 'modelship.retraining.request/v1';

/** The JSON of an alert or a modelship-format retraining request. */
export function actionBody(input: MonitorActionInput): Record<string, unknown> {
  const { deployment } = input;
  const base = {
    type: input.kind === 'alert' ? ALERT_BODY_TYPE : RETRAINING_BODY_TYPE,
    idempotencyKey: input.idempotencyKey,
    model: deployment.model,
    environment: deployment.environment,
    version: input.version,
    bundleDigest: input.bundleDigest,
    commit: deployment.commit,
    repository: deployment.repository,
    specPath: deployment.specPath,
    time: input.time,
    monitor: input.monitor,
  };
  if (input.kind === 'alert') return { ...base, findings: input.findings };
  return {
    ...base,
    reason: input.findings.map((finding) => finding.summary).join('; '),
    findings: input.findings,
    // The window of live data the findings rest on, and where every check stands.
    window: { from: input.summary.windowStart, to: input.time, rows: input.summary.rows },
    monitorSummary: input.summary,
  };
}

/** A retraining request as a GitHub issue: a title and a Markdown drift report. */
function issueBody(input: MonitorActionInput): Record<string, unknown> {
  const where = `${input.deployment.model}@${input.deployment.environment}`;
  const lines = [
    `modelship's monitor found that version \`${input.version}\` of ${where} (bundle \`${input.bundleDigest.slice(0, 12)}\`, commit \`${input.deployment.commit.slice(0, 12)}\`) no longer matches what it was validated on.`,
    '',
    '## Findings',
    '',
    ...input.findings.map((finding) => `- **${finding.check}**: ${finding.summary}`),
    '',
    `Window: ${input.summary.windowStart} to ${input.time}, ${input.summary.rows} live rows.`,
    '',
    '<details><summary>Evidence (JSON)</summary>',
    '',
    '```json',
    JSON.stringify({ findings: input.findings, summary: input.summary }, null, 2),
    '```',
    '</details>',
    '',
    `Idempotency key: \`${input.idempotencyKey}\``,
  ];
  return {
    title: `Retrain ${where}: ${input.findings.map((finding) => finding.feature ?? finding.check).join(', ')}`,
    body: lines.join('\n'),
    labels: ['modelship', 'retraining'],
  };
}

/** The body a request is sent with, by its kind and format. */
function requestBody(input: MonitorActionInput): Record<string, unknown> {
  if (input.kind === 'retraining' && input.format === 'issue') return issueBody(input);
  if (input.kind === 'retraining' && input.format === 'repository_dispatch') {
    const body = actionBody(input);
    // GitHub allows at most 10 top-level keys in client_payload.
    return {
      event_type: input.eventType ?? 'modelship-retrain',
      client_payload: {
        type: body.type,
        idempotencyKey: body.idempotencyKey,
        model: body.model,
        environment: body.environment,
        version: body.version,
        bundleDigest: body.bundleDigest,
        commit: body.commit,
        reason: body.reason,
        window: body.window,
        findings: input.findings,
      },
    };
  }
  return actionBody(input);
}

const RETRYABLE_STATUS = new Set([408, 425, 429]);

export function createMonitoringActivities(deps: MonitoringDeps) {
  const env = deps.env ?? process.env;
  const timeoutMs = deps.timeoutMs ?? 10_000;
  return {
    /** The version's live statistics (and, when asked, its reference profile and labels). */
    async readMonitorInputs(input: {
      deployment: DeploymentRef;
      version: string;
      withProfile: boolean;
    }): Promise<MonitorReading> {
      const { model, environment } = input.deployment;
      const all = await deps.sources.statistics(environment, model);
      const statistics = all.find((entry) => entry.version === input.version);
      if (!statistics) return { served: false };
      const labels = await deps.sources.labels?.(environment, model, input.version);
      const profile = input.withProfile
        ? await deps.sources.profile(environment, model, input.version)
        : undefined;
      return {
        served: true,
        statistics,
        ...(labels ? { labels } : {}),
        ...(profile ? { profile } : {}),
      };
    },

    /**
     * POSTs an alert or a retraining request. 2xx is done; 408, 425, 429 and 5xx (and a network
     * failure) retry; any other answer is a `WebhookRefused` domain failure naming the status.
     */
    async sendMonitorAction(input: MonitorActionInput): Promise<{ status: number }> {
      const headers: Record<string, string> = {
        'content-type': 'application/json',
        'user-agent': 'modelship-monitor',
        'idempotency-key': input.idempotencyKey,
      };
      if (input.format === 'issue' || input.format === 'repository_dispatch') {
        headers.accept = 'application/vnd.github+json';
      }
      if (input.tokenEnv) {
        // The spec schema admits only MODELSHIP_WEBHOOK_* names; checked again here, where it matters.
        if (!/^MODELSHIP_WEBHOOK_[A-Z0-9_]+$/.test(input.tokenEnv)) {
          throw domainFailure(
            FailureType.WebhookRefused,
            `tokenEnv ${input.tokenEnv} is not a MODELSHIP_WEBHOOK_* variable`,
          );
        }
        const token = env[input.tokenEnv];
        if (!token) {
          throw domainFailure(
            FailureType.WebhookRefused,
            `the worker has no ${input.tokenEnv} set, which the ${input.kind} webhook needs for its token`,
          );
        }
        headers.authorization = `Bearer ${token}`;
      }
      const response = await fetch(input.url, {
        method: 'POST',
        headers,
        body: JSON.stringify(requestBody(input)),
        redirect: 'error',
        signal: AbortSignal.timeout(timeoutMs),
      });
      // Read (and drop) the body so the connection is released; a receiver's text is not trusted in messages.
      await response.arrayBuffer().catch(() => undefined);
      if (response.ok) return { status: response.status };
      const where = new URL(input.url).host;
      if (response.status >= 500 || RETRYABLE_STATUS.has(response.status)) {
        throw new Error(`the ${input.kind} webhook at ${where} answered ${response.status}; retrying`);
      }
      throw domainFailure(
        FailureType.WebhookRefused,
        `the ${input.kind} webhook at ${where} refused the request with HTTP ${response.status}`,
        { status: response.status },
      );
    },
  };
}
