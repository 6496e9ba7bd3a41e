/**
 * Where the monitor reads a model's per-version counters: the data plane's admin API (default)
 * or, where a Prometheus server scrapes the data plane, Prometheus's HTTP query API. Both give
 * the same `VersionCounters` (cumulative since the version was loaded), so windows, judges and
 * verdicts do not know which one was read.
 *
 * Why Prometheus at all: a platform team that already scrapes the data plane keeps one source of
 * truth for dashboards and rollouts, and the worker needs no route to the admin API for reads.
 * The price is the scrape interval: Prometheus's counters trail the data plane's by up to one
 * scrape, so a verdict comes that much later (windows stay exact: both ends are read the same way).
 */

import { z } from 'zod';
import type { VersionCounters } from '../analysis/window.ts';
import type { AdminClient } from '../serving/admin-client.ts';
import type { MetricsSnapshot } from '../serving/api-types.ts';
import { LATENCY_BUCKETS } from '../serving/metrics.ts';

export interface CounterSource {
  /** `admin API` or `prometheus <url>`, for messages. */
  readonly name: string;
  /** Each loaded version of `model` → its cumulative counters. */
  read(model: string): Promise<Record<string, VersionCounters>>;
}

export function adminCounterSource(admin: AdminClient): CounterSource {
  return {
    name: 'admin API',
    read: async (model) => (await admin.metrics()).models[model] ?? {},
  };
}

/** Prometheus's instant-query answer (`/api/v1/query`), the parts read here. */
const QueryResponse = z.object({
  status: z.literal('success'),
  data: z.object({
    resultType: z.literal('vector'),
    result: z.array(
      z.object({
        metric: z.record(z.string(), z.string()),
        value: z.tuple([z.number(), z.string()]),
      }),
    ),
  }),
});
type Sample = z.infer<typeof QueryResponse>['data']['result'][number];

class PrometheusQueryError extends Error {
  override name = 'PrometheusQueryError';
}

/**
 * Reads the data plane's `modelship_*` series from Prometheus with ONE instant query per read
 * (every series of the model at once), so that all counters of a read come from the same scrape.
 */
export function prometheusCounterSource(options: {
  url: string;
  /** Per-request timeout, ms. Default 10 s. */
  timeoutMs?: number;
}): CounterSource {
  const base = options.url.replace(/\/+$/, '');
  return {
    name: `prometheus ${base}`,
    async read(model) {
      const query = `{__name__=~"modelship_.+",model="${escapeLabelValue(model)}"}`;
      const url = `${base}/api/v1/query?query=${encodeURIComponent(query)}`;
      let response: Response;
      try {
        response = await fetch(url, { signal: AbortSignal.timeout(options.timeoutMs ?? 10_000) });
      } catch (error) {
        throw new PrometheusQueryError(`Prometheus at ${base} is unreachable: ${(error as Error).message}`);
      }
      const text = await response.text();
      if (!response.ok) {
        throw new PrometheusQueryError(
          `Prometheus at ${base} answered ${response.status}: ${text.slice(0, 300)}`,
        );
      }
      const parsed = QueryResponse.safeParse(JSON.parse(text));
      if (!parsed.success) {
        throw new PrometheusQueryError(
          `Prometheus at ${base} sent an unexpected answer: ${parsed.error.message}`,
        );
      }
      return countersFromSamples(parsed.data.data.result);
    },
  };
}

function escapeLabelValue(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"');
}

const noRefusals = () => ({
  bad_request: 0,
  too_large: 0,
  timeout: 0,
  client_closed: 0,
  response_too_large: 0,
});

function mutableCounters(): {
  requests: number;
  errors: Record<string, number>;
  latency: { buckets: { le: number; count: number }[]; sum: number; count: number };
  predictions: Record<string, number>;
  shadow: { compared: number; agreed: number; dropped: number; errors: number };
  refused: Record<string, number>;
  pinned: { requests: number; errors: Record<string, number>; refused: Record<string, number> };
} {
  return {
    requests: 0,
    errors: { inference: 0, non_finite: 0 },
    latency: { buckets: LATENCY_BUCKETS.map((le) => ({ le, count: 0 })), sum: 0, count: 0 },
    predictions: {},
    shadow: { compared: 0, agreed: 0, dropped: 0, errors: 0 },
    refused: noRefusals(),
    pinned: { requests: 0, errors: { inference: 0, non_finite: 0 }, refused: noRefusals() },
  };
}

function addTo(record: Record<string, number>, key: string, value: number): void {
  record[key] = (record[key] ?? 0) + value;
}

/**
 * Turns `modelship_*` samples (as `serving/prometheus.ts` exposes them) back into counters, the
 * same shape as the admin API's: the judge reads only the routed counters, the refused and
 * pinned ones are carried for reports and dashboards.
 *
 * Every replica exports its own series (told apart by Prometheus's `instance` label): a version's
 * counters are their sum, as the fleet view sums the replicas' reports.
 */
function countersFromSamples(samples: readonly Sample[]): Record<string, VersionCounters> {
  const versions: Record<string, ReturnType<typeof mutableCounters>> = {};
  for (const sample of samples) {
    const { __name__: name, version } = sample.metric;
    if (!name || !version) continue;
    const value = Number(sample.value[1]);
    if (!Number.isFinite(value)) continue;
    versions[version] ??= mutableCounters();
    const counters = versions[version];
    switch (name) {
      case 'modelship_requests_total':
        counters.requests += value;
        break;
      case 'modelship_errors_total':
        addTo(counters.errors, sample.metric.kind ?? 'unknown', value);
        break;
      case 'modelship_refused_total': {
        const refused = sample.metric.traffic === 'pinned' ? counters.pinned.refused : counters.refused;
        addTo(refused, sample.metric.reason ?? 'unknown', value);
        break;
      }
      case 'modelship_pinned_requests_total':
        counters.pinned.requests += value;
        break;
      case 'modelship_pinned_errors_total':
        addTo(counters.pinned.errors, sample.metric.kind ?? 'unknown', value);
        break;
      case 'modelship_request_duration_seconds_bucket': {
        const le = Number(sample.metric.le);
        const bucket = counters.latency.buckets.find((b) => Math.abs(b.le - le) <= le * 1e-9);
        if (bucket) bucket.count += value;
        break;
      }
      case 'modelship_request_duration_seconds_sum':
        counters.latency.sum += value;
        break;
      case 'modelship_request_duration_seconds_count':
        counters.latency.count += value;
        break;
      case 'modelship_predictions_total':
        if (sample.metric.class !== undefined) addTo(counters.predictions, sample.metric.class, value);
        break;
      case 'modelship_shadow_comparisons_total':
        counters.shadow.compared += value;
        if (sample.metric.result === 'agree') counters.shadow.agreed += value;
        break;
      case 'modelship_shadow_dropped_total':
        counters.shadow.dropped += value;
        break;
      case 'modelship_shadow_errors_total':
        counters.shadow.errors += value;
        break;
    }
  }
  return versions;
}

/**
 * The counter source of each environment: `MODELSHIP_PROMETHEUS_URL` applies to every environment,
 * `MODELSHIP_PROMETHEUS_URLS=production=http://prom:9090,staging=…` to the ones it names (and wins).
 * Environments named nowhere read the admin API.
 */
export function counterSources(options: {
  admin: AdminClient;
  /** Where the replicas follow desired state: their summed metrics, per environment, instead of `admin`. */
  fleet?: (environment: string) => Promise<MetricsSnapshot>;
  prometheusUrl?: string;
  prometheusUrls?: Readonly<Record<string, string>>;
}): (environment: string) => CounterSource {
  const admin = adminCounterSource(options.admin);
  const { fleet } = options;
  const cache = new Map<string, CounterSource>();
  return (environment) => {
    const url = options.prometheusUrls?.[environment] ?? options.prometheusUrl;
    if (!url && fleet) {
      return {
        name: `the replicas of ${environment}`,
        read: async (model) => (await fleet(environment)).models[model] ?? {},
      };
    }
    if (!url) return admin;
    let source = cache.get(url);
    if (!source) {
      source = prometheusCounterSource({ url });
      cache.set(url, source);
    }
    return source;
  };
}
