/**
 * The counters in the Prometheus text exposition format (version 0.0.4), for `GET /metrics`.
 * Every series carries the labels `model` and `version`; a family is written even when it has no
 * series yet, so a scraper sees the same metric names from the first scrape on.
 *
 * The families that existed before refusals and pinned requests were counted apart keep their
 * names and labels, and now hold exactly the routed traffic the judge reads
 * (`modelship_requests_total`, `modelship_errors_total{kind="inference"|"non_finite"}`, the
 * duration histogram, predictions): a rollout reading them from Prometheus judges the same
 * counts as one reading the admin API. The rest is in new families: `modelship_refused_total`
 * and `modelship_pinned_*`. Total requests answered by a version = requests + pinned requests +
 * refused (both traffic labels). With monitoring on, the live statistics follow
 * (`modelship_feature_*`, `modelship_input_violations_total`, ...).
 */
import { binCount } from '../domain/reference-profile.ts';
import {
  LATENCY_BUCKETS,
  type PinnedCounters,
  REFUSAL_REASONS,
  SERVER_ERROR_KINDS,
  type VersionMetrics,
} from './metrics.ts';

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

function errorLines(lines: string[], name: string, m: VersionMetrics, counters: PinnedCounters): void {
  for (const kind of SERVER_ERROR_KINDS) {
    const count = kind === 'inference' ? counters.inferenceErrors : counters.nonFinite;
    lines.push(`${name}${labels(m, `,kind="${kind}"`)} ${count}`);
  }
}

/**
 * The live statistics (`live-statistics.ts`): inputs per bin of the reference profile, missing
 * values, data-quality violations and refusals. Bounded: a profile has at most 64 features of 21
 * bins, a spec's features are the input's columns, and bins are labelled by index (the profile
 * says what each holds).
 */
function statisticsLines(lines: string[], all: readonly VersionMetrics[]): void {
  family(
    lines,
    'modelship_monitored_rows_total',
    'counter',
    'Rows of routed requests counted into the live statistics.',
  );
  for (const m of all) {
    if (m.statistics) lines.push(`modelship_monitored_rows_total${labels(m)} ${m.statistics.rows}`);
  }
  family(
    lines,
    'modelship_feature_rows_total',
    'counter',
    "Routed rows per bin of each feature of the version's reference profile (bins by index).",
  );
  const features = (m: VersionMetrics) =>
    m.statistics?.watches.filter((watch) => watch.features.length > 0) ?? [];
  for (const m of all) {
    for (const watch of features(m)) {
      let offset = 0;
      for (const feature of watch.features) {
        const name = `,feature="${escapeLabel(feature.name)}",bin=`;
        const bins = binCount(feature);
        for (let bin = 0; bin < bins; bin += 1) {
          lines.push(
            `modelship_feature_rows_total${labels(m, `${name}"${bin}"`)} ${watch.counts[offset + bin]}`,
          );
        }
        offset += bins;
      }
    }
  }
  family(
    lines,
    'modelship_feature_missing_total',
    'counter',
    "Routed rows missing a value of a feature of the version's reference profile.",
  );
  for (const m of all) {
    for (const watch of features(m)) {
      watch.features.forEach((feature, index) => {
        const feat = `,feature="${escapeLabel(feature.name)}"`;
        lines.push(`modelship_feature_missing_total${labels(m, feat)} ${watch.missing[index]}`);
      });
    }
  }
  family(
    lines,
    'modelship_input_violations_total',
    'counter',
    'Routed rows breaking a constraint of spec.interface.inputs[].features, by input and feature.',
  );
  for (const m of all) {
    for (const watch of m.statistics?.watches ?? []) {
      const input = `,input="${escapeLabel(watch.input.name)}",feature=`;
      watch.quality?.names.forEach((feature, column) => {
        lines.push(
          `modelship_input_violations_total${labels(m, `${input}"${escapeLabel(feature)}"`)} ${watch.violations[column]}`,
        );
      });
    }
  }
  family(
    lines,
    'modelship_quality_rejected_requests_total',
    'counter',
    'Routed requests refused with 400 for breaking a constraint (onViolation: reject).',
  );
  for (const m of all) {
    if (m.statistics) {
      lines.push(`modelship_quality_rejected_requests_total${labels(m)} ${m.statistics.rejectedRequests}`);
    }
  }
}

/** Renders every version's counters, and their live statistics when `monitoring` is on. */
export function renderPrometheus(all: readonly VersionMetrics[], monitoring = false): string {
  const lines: string[] = [];

  family(
    lines,
    'modelship_requests_total',
    'counter',
    'Routed infer requests that reached the model of a version, failed ones included.',
  );
  for (const m of all) lines.push(`modelship_requests_total${labels(m)} ${m.requests}`);

  family(lines, 'modelship_errors_total', 'counter', 'Routed infer requests the model failed, by kind.');
  for (const m of all) errorLines(lines, 'modelship_errors_total', m, m);

  family(
    lines,
    'modelship_refused_total',
    'counter',
    'Infer requests refused before the model answered (client mistakes), by reason and traffic.',
  );
  for (const m of all) {
    for (const reason of REFUSAL_REASONS) {
      const refused = `,reason="${reason}",traffic=`;
      lines.push(
        `modelship_refused_total${labels(m, `${refused}"routed"`)} ${m.refused[reason]}`,
        `modelship_refused_total${labels(m, `${refused}"pinned"`)} ${m.pinned.refused[reason]}`,
      );
    }
  }

  family(
    lines,
    'modelship_pinned_requests_total',
    'counter',
    'Infer requests pinned to a version that reached its model; never judged.',
  );
  for (const m of all) lines.push(`modelship_pinned_requests_total${labels(m)} ${m.pinned.requests}`);

  family(
    lines,
    'modelship_pinned_errors_total',
    'counter',
    'Pinned infer requests the model failed, by kind.',
  );
  for (const m of all) errorLines(lines, 'modelship_pinned_errors_total', m, m.pinned);

  family(
    lines,
    'modelship_request_duration_seconds',
    'histogram',
    'Server time of routed requests that reached the model, from complete request body to response written.',
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

  family(lines, 'modelship_predictions_total', 'counter', 'Rows predicted for routed requests, by class.');
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

  if (monitoring) statisticsLines(lines, all);
  return `${lines.join('\n')}\n`;
}
