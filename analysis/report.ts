/**
 * A verdict as people read it: plain words first (what was compared, is it fine, is there enough
 * evidence), the statistics below for whoever wants them; and a single line for logs, the audit
 * log and rollback reasons.
 *
 * The markdown is for the Temporal Web UI's current details, whose renderer runs the columns of
 * pipe tables together: one line per metric joined by `<br>` renders the same everywhere.
 */
import { formatInterval, formatValue, metricLabel } from './format.ts';
import type { MetricVerdict, Verdict } from './judge.ts';

/** `fail: errorRate 0.12 > 0.01 (candidate 12/100 requests, stable 0/900)`. */
export function verdictLine(verdict: Verdict): string {
  return `${verdict.outcome}: ${verdict.reason}`;
}

/** What each metric measures, in words a person who never read the judge knows. */
function metricWords(metric: MetricVerdict): string {
  switch (metric.name) {
    case 'errorRate':
      return metric.method === 'limit' ? 'canary error rate against the limit' : 'errors';
    case 'latencyP99':
      return metric.unit === 'ms' ? 'p99 latency' : 'slow requests';
    case 'disagreement':
      return metric.method === 'shadow'
        ? 'answers differing from stable on mirrored requests'
        : 'predicted classes against stable';
    case 'agreement':
      return 'answers agreeing with stable on mirrored requests';
  }
}

/** `as a share`: fractions read as percentages, milliseconds as durations. */
function amount(value: number | null, unit: MetricVerdict['unit']): string {
  if (value === null) return 'not measured yet';
  return unit === 'fraction' ? `${Number((value * 100).toPrecision(3))} %` : formatValue(value, unit);
}

function judgement(metric: MetricVerdict): string {
  if (metric.passed === true) return 'fine, enough evidence';
  if (metric.passed === false) return '**worse than allowed**';
  return 'no problem seen, not enough evidence yet';
}

/**
 * One metric in plain words: `errors: canary 0 % against stable 0 % (allowed ≤ 1.25× stable): fine,
 * enough evidence`.
 */
function metricInWords(metric: MetricVerdict): string {
  if (metric.counts) {
    const { of, candidate, stable } = metric.counts;
    const against = stable ? ` against ${stable.events} in ${stable.total} stable` : '';
    return `${metricWords(metric)}: ${candidate.events} in ${candidate.total} canary ${of}${against} (allowed ${metric.limit}): ${judgement(metric)}`;
  }
  const measured =
    metric.stable === null
      ? `canary ${amount(metric.candidate, metric.unit)}`
      : `canary ${amount(metric.candidate, metric.unit)} against stable ${amount(metric.stable, metric.unit)}`;
  return `${metricWords(metric)}: ${measured} (allowed ${metric.limit}): ${judgement(metric)}`;
}

/** The verdict in one plain sentence, led by its outcome. */
function verdictHeadline(verdict: Verdict): string {
  switch (verdict.outcome) {
    case 'pass':
      return 'pass: the candidate does as well as stable, with enough evidence';
    case 'fail': {
      const failed = verdict.metrics.filter((metric) => metric.passed === false).map(metricWords);
      return `fail: the candidate is worse than allowed on ${failed.length > 0 ? failed.join(', ') : 'a limit'}`;
    }
    case 'continue':
      return 'still watching: no problem seen so far, not enough evidence for a verdict yet';
    case 'inconclusive':
      return 'inconclusive: time ran out without enough evidence either way';
  }
}

/**
 * The verdict for the Web UI: the headline, one plain line per metric, then the numbers each
 * judge computed (counts, intervals, e-values). The reason is printed only when it says something
 * the metrics' own evidence does not (for example "fewer than minRequests").
 */
export function verdictMarkdown(verdict: Verdict): string {
  const plain = verdict.metrics.map((metric) => `• ${metricInWords(metric)}`);
  const numbers = verdict.metrics.map((metric) => {
    const interval = metric.interval ? `; ${formatInterval(metric)}` : '';
    const evidence = metric.evidence ?? 'no counts';
    // The sequential judge's evidence already starts with the metric's name.
    const label = evidence.startsWith(`${metric.name}:`) ? '' : `${metricLabel(metric)}: `;
    return `• ${label}${evidence}${interval}`;
  });
  const repeatsEvidence = verdict.metrics.some(
    (metric) => metric.evidence !== undefined && verdict.reason.includes(metric.evidence),
  );
  const head = [
    `**${verdictHeadline(verdict)}**`,
    ...(repeatsEvidence ? [] : [`Why: ${verdict.reason}`]),
    ...plain,
  ];
  return `${head.join('<br>')}\n\nNumbers (${verdict.judge} judge):<br>${numbers.join('<br>')}`;
}
