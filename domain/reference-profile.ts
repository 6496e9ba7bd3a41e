/**
 * The reference profile of a model version, and the live statistics the data plane keeps in its
 * image: the contract between packaging (which profiles the holdout), the data plane (which
 * counts what it receives and predicts into the SAME bins) and the monitor (which compares the
 * two). Binning lives here, beside the schema, because a drift test is only sound when both sides
 * bin a value identically.
 *
 * A feature is one column of the model's 2-D input `[batch, width]`, the way validation feeds the
 * holdout (`model/feeding.ts`). Numeric features are binned by cut points at quantiles of the
 * holdout, so each bin holds about the same share of reference rows (a drift test then has
 * evidence in every bin); categorical features by their values, with one last bin for any value
 * the reference never saw. A missing value (NaN, or `null` where the spec allows it) is counted
 * apart from the bins.
 */
import { z } from 'zod';

export const REFERENCE_PROFILE_SCHEMA_VERSION = 1;

const finite = z.number().refine(Number.isFinite, 'must be a finite number');
const count = z.number().int().nonnegative();

const NumericFeature = z.strictObject({
  kind: z.literal('numeric'),
  name: z.string().min(1).describe('The holdout column name.'),
  column: z.number().int().nonnegative().describe('Its index in the last dimension of the input tensor.'),
  edges: z
    .array(finite)
    .describe(
      'Interior cut points, strictly increasing: bin i holds values v with edges[i-1] <= v < edges[i] (bin 0 everything below edges[0], the last bin everything from the last edge up); edges.length + 1 bins.',
    ),
  counts: z.array(count).describe('Reference rows per bin.'),
  missing: count.describe('Reference rows where the value was missing.'),
  min: finite,
  max: finite,
  mean: finite,
  std: finite,
  quantiles: z
    .strictObject({ p01: finite, p25: finite, p50: finite, p75: finite, p99: finite })
    .describe('A compact summary for people; the bins are what tests use.'),
});

const CategoricalFeature = z.strictObject({
  kind: z.literal('categorical'),
  name: z.string().min(1),
  column: z.number().int().nonnegative(),
  categories: z
    .array(finite)
    .describe(
      'The values seen in the reference, ascending; bin i is categories[i], the last bin any other value.',
    ),
  counts: z.array(count).describe('Reference rows per bin, the "other" bin last (0 in the reference).'),
  missing: count,
});

const FeatureProfile = z.discriminatedUnion('kind', [NumericFeature, CategoricalFeature]);
export type FeatureProfile = z.output<typeof FeatureProfile>;
export type NumericFeatureProfile = z.output<typeof NumericFeature>;
export type CategoricalFeatureProfile = z.output<typeof CategoricalFeature>;

const ClassCounts = z.strictObject({
  classes: z
    .array(z.string())
    .describe('Class labels as text (integer classes in decimal), in first-seen order.'),
  counts: z.array(count),
});
export type ClassCounts = z.output<typeof ClassCounts>;

export const ReferenceProfileSchema = z
  .strictObject({
    schemaVersion: z.literal(REFERENCE_PROFILE_SCHEMA_VERSION),
    holdout: z.strictObject({
      path: z.string().min(1),
      sha256: z.string().regex(/^[0-9a-f]{64}$/),
      rows: count,
    }),
    input: z.string().min(1).describe('The model input the features are columns of.'),
    features: z.array(FeatureProfile),
    predictions: ClassCounts.describe('Predicted classes on the holdout.'),
    labels: ClassCounts.describe('True classes in the holdout.'),
    metrics: z
      .record(z.string(), finite)
      .describe('The holdout metrics validation measured (accuracy, f1Macro, ...).'),
  })
  .superRefine((profile, context) => {
    profile.features.forEach((feature, index) => {
      const bins = feature.kind === 'numeric' ? feature.edges.length + 1 : feature.categories.length + 1;
      if (feature.counts.length !== bins) {
        context.addIssue({
          code: 'custom',
          path: ['features', index, 'counts'],
          message: `must have ${bins} entries, one per bin; has ${feature.counts.length}`,
        });
      }
      const cuts = feature.kind === 'numeric' ? feature.edges : feature.categories;
      if (cuts.some((value, i) => i > 0 && value <= (cuts[i - 1] as number))) {
        context.addIssue({
          code: 'custom',
          path: ['features', index, feature.kind === 'numeric' ? 'edges' : 'categories'],
          message: 'must be strictly increasing',
        });
      }
    });
    for (const key of ['predictions', 'labels'] as const) {
      if (profile[key].classes.length !== profile[key].counts.length) {
        context.addIssue({ code: 'custom', path: [key], message: 'classes and counts differ in length' });
      }
    }
  });
export type ReferenceProfile = z.output<typeof ReferenceProfileSchema>;

/** The number of bins of a feature (its "other" or open-ended last bin included). */
export function binCount(feature: FeatureProfile): number {
  return feature.kind === 'numeric' ? feature.edges.length + 1 : feature.categories.length + 1;
}

/**
 * The bin a value falls in, or -1 when it is missing (NaN). Binary search over at most a few
 * dozen cut points: this runs on the data plane's hot path, once per feature of every row.
 */
export function binOf(feature: FeatureProfile, value: number): number {
  if (Number.isNaN(value)) return -1;
  if (feature.kind === 'numeric') {
    const edges = feature.edges;
    let low = 0;
    let high = edges.length;
    // First edge greater than value: values equal to an edge belong to the bin above it.
    while (low < high) {
      const mid = (low + high) >>> 1;
      if ((edges[mid] as number) <= value) low = mid + 1;
      else high = mid;
    }
    return low;
  }
  const categories = feature.categories;
  let low = 0;
  let high = categories.length - 1;
  while (low <= high) {
    const mid = (low + high) >>> 1;
    const at = categories[mid] as number;
    if (at === value) return mid;
    if (at < value) low = mid + 1;
    else high = mid - 1;
  }
  return categories.length;
}

/** Parses a profile read from a manifest; every problem as `dot.path: message`. */
export function parseReferenceProfile(
  json: unknown,
): { ok: true; profile: ReferenceProfile } | { ok: false; errors: string[] } {
  const parsed = ReferenceProfileSchema.safeParse(json);
  if (parsed.success) return { ok: true, profile: parsed.data };
  return {
    ok: false,
    errors: parsed.error.issues.map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`),
  };
}

/**
 * What one data-plane process has counted for one version since it loaded it: cumulative, like
 * every other counter of the data plane, so a reader takes differences between two reads (and
 * treats a count that went down as a restarted replica). `GET /admin/v1/models/{m}/statistics`
 * answers one of these per loaded version.
 */
export const LiveStatisticsSchema = z.strictObject({
  model: z.string(),
  version: z.string(),
  /** The bundle digest the version was loaded from; the reference profile is that bundle's. */
  bundleDigest: z.string(),
  /** When counting began (the version's load), ISO 8601. */
  since: z.string(),
  /** Routed requests whose inputs were counted, and the rows they held. */
  requests: count,
  rows: count,
  /** Per feature of the reference profile, in its order: rows per bin, and missing values. */
  features: z.array(z.strictObject({ name: z.string(), counts: z.array(count), missing: count })),
  /** Predicted classes of routed requests, the reference's classes first, others as they came. */
  predictions: ClassCounts,
  /** Data quality at the door: rows that broke a constraint, by `input.feature`, and requests refused for it. */
  quality: z.strictObject({
    violations: z.record(z.string(), count),
    rejectedRequests: count,
  }),
});
export type LiveStatistics = z.output<typeof LiveStatisticsSchema>;

/**
 * One version's statistics summed over the replicas that serve it: counts add up bin by bin
 * (every replica bins against the same profile, so the bins line up), classes and constraint
 * names by name; `since` is the earliest start. The list must not be empty.
 */
export function sumLiveStatistics(replicas: readonly LiveStatistics[]): LiveStatistics {
  const [first, ...rest] = replicas;
  if (!first) throw new Error('sumLiveStatistics needs at least one replica');
  const predictions = new Map<string, number>();
  const violations: Record<string, number> = {};
  for (const replica of replicas) {
    replica.predictions.classes.forEach((label, i) => {
      predictions.set(label, (predictions.get(label) ?? 0) + (replica.predictions.counts[i] ?? 0));
    });
    for (const [name, count] of Object.entries(replica.quality.violations)) {
      violations[name] = (violations[name] ?? 0) + count;
    }
  }
  return {
    ...first,
    since: replicas.map((replica) => replica.since).sort()[0] ?? first.since,
    requests: replicas.reduce((sum, replica) => sum + replica.requests, 0),
    rows: replicas.reduce((sum, replica) => sum + replica.rows, 0),
    features: first.features.map((feature, index) => ({
      name: feature.name,
      counts: feature.counts.map(
        (count, bin) =>
          count + rest.reduce((sum, replica) => sum + (replica.features[index]?.counts[bin] ?? 0), 0),
      ),
      missing:
        feature.missing + rest.reduce((sum, replica) => sum + (replica.features[index]?.missing ?? 0), 0),
    })),
    predictions: { classes: [...predictions.keys()], counts: [...predictions.values()] },
    quality: {
      violations,
      rejectedRequests: replicas.reduce((sum, replica) => sum + replica.quality.rejectedRequests, 0),
    },
  };
}
