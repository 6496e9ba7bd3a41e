/**
 * The counters in the Prometheus text exposition format (version 0.0.4), for `GET /metrics`.
 * Every series carries the labels `model` and `version`; a family is written even when it has no
 * series yet, so a scraper sees the same metric names from the first scrape on.
 */
import { LATENCY_BUCKETS, type VersionMetrics } from './metrics.ts';

/** The Content-Type Prometheus expects for this format. */
export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

const escapeLabel = (value: string) =>
  value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');

function labels(metrics: VersionMetrics, extra = ''): string {
  const base = `model="${escapeLabel(metrics.model)}",version="${escapeLabel(metrics.version)}"`;
  return `{${base}${extra}}`;
}

function family(lines: string[], name: string, type: 'counter' | 'histogram', help: string): void {
  lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
}

/** Renders every version's counters. */
export function renderPrometheus(all: readonly VersionMetrics[]): string {
  const lines: string[] = [];

  family(lines, 'modelship_requests_total', 'counter', 'Infer requests answered by a model version.');
  for (const m of all) lines.push(`modelship_requests_total${labels(m)} ${m.requests}`);

  family(lines, 'modelship_errors_total', 'counter', 'Failed infer requests by kind.');
  for (const m of all) {
    lines.push(
      `modelship_errors_total${labels(m, ',kind="bad_request"')} ${m.badRequests}`,
      `modelship_errors_total${labels(m, ',kind="inference"')} ${m.inferenceErrors}`,
      `modelship_errors_total${labels(m, ',kind="non_finite"')} ${m.nonFinite}`,
    );
  }

  family(
    lines,
    'modelship_request_duration_seconds',
    'histogram',
    'Time from request arrival to response written, for requests that reached the model.',
  );
  for (const m of all) {
    let cumulative = 0;
    LATENCY_BUCKETS.forEach((le, index) => {
      cumulative += m.latencyCounts[index] ?? 0;
      lines.push(`modelship_request_duration_seconds_bucket${labels(m, `,le="${le}"`)} ${cumulative}`);
    });
    lines.push(
      `modelship_request_duration_seconds_bucket${labels(m, ',le="+Inf"')} ${m.latencyCount}`,
      `modelship_request_duration_seconds_sum${labels(m)} ${m.latencySum}`,
      `modelship_request_duration_seconds_count${labels(m)} ${m.latencyCount}`,
    );
  }

  family(lines, 'modelship_predictions_total', 'counter', 'Rows predicted, by predicted class.');
  for (const m of all) {
    for (const [cls, count] of Object.entries(m.predictions())) {
      lines.push(`modelship_predictions_total${labels(m, `,class="${escapeLabel(cls)}"`)} ${count}`);
    }
  }

  family(
    lines,
    'modelship_shadow_comparisons_total',
    'counter',
    "Rows a shadow version predicted, compared with stable's answer.",
  );
  for (const m of all) {
    lines.push(
      `modelship_shadow_comparisons_total${labels(m, ',result="agree"')} ${m.shadowAgreed}`,
      `modelship_shadow_comparisons_total${labels(m, ',result="disagree"')} ${m.shadowCompared - m.shadowAgreed}`,
    );
  }

  family(
    lines,
    'modelship_shadow_dropped_total',
    'counter',
    'Shadow copies dropped because the shadow queue was full.',
  );
  for (const m of all) lines.push(`modelship_shadow_dropped_total${labels(m)} ${m.shadowDropped}`);

  family(
    lines,
    'modelship_shadow_errors_total',
    'counter',
    'Shadow runs that failed or could not be compared.',
  );
  for (const m of all) lines.push(`modelship_shadow_errors_total${labels(m)} ${m.shadowErrors}`);

  return `${lines.join('\n')}\n`;
}
