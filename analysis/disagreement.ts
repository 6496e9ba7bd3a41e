/**
 * How often the candidate predicts differently from stable, measured two ways.
 *
 * - Paired (shadow): the data plane ran both versions on the same rows and counted the rows that
 *   agreed, so `1 − agreed/compared` is the disagreement itself, without sampling bias.
 * - Distribution (canary): each request went to one version only, so rows cannot be paired. The
 *   total variation distance between the two predicted-class distributions is the smallest
 *   disagreement consistent with them (no pairing of rows can disagree less), so it never
 *   overstates a real difference. It does overstate noise: two samples of the same distribution
 *   differ by chance, by about 0.06 for 100 candidate rows over three classes, more than the
 *   default limit of 0.05. We therefore subtract the distance expected from sampling alone, so a
 *   healthy canary is not rolled back for being small.
 */

/** A measured disagreement and the counts behind it. */
export interface Disagreement {
  method: 'shadow' | 'distribution';
  /** The share of rows judged to disagree, 0 to 1. */
  value: number;
  /** For people: the counts and, for a distribution, the raw distance and the noise removed. */
  evidence: string;
}

/** Mirrored traffic of the candidate: rows compared, rows agreeing, requests that failed to run. */
interface ShadowCounts {
  compared: number;
  agreed: number;
  errors: number;
}

/**
 * Paired disagreement. A mirrored request that failed on the candidate counts as one disagreeing
 * row: a candidate that cannot answer must not look like one that was never asked.
 */
export function pairedDisagreement(shadow: ShadowCounts): Disagreement | null {
  const rows = shadow.compared + shadow.errors;
  if (rows === 0) return null;
  const differing = rows - shadow.agreed;
  const failed = shadow.errors > 0 ? `, ${shadow.errors} failed requests among them` : '';
  return {
    method: 'shadow',
    value: differing / rows,
    evidence: `${differing}/${rows} mirrored rows differ${failed}`,
  };
}

/** Half the sum of absolute differences of the two class shares: 0 same, 1 disjoint. */
export function totalVariationDistance(
  a: Readonly<Record<string, number>>,
  b: Readonly<Record<string, number>>,
): number {
  const totalA = sum(a);
  const totalB = sum(b);
  if (totalA === 0 || totalB === 0) return Number.NaN;
  let distance = 0;
  for (const key of new Set([...Object.keys(a), ...Object.keys(b)])) {
    distance += Math.abs((a[key] ?? 0) / totalA - (b[key] ?? 0) / totalB);
  }
  return distance / 2;
}

/**
 * The distance two samples of one distribution show by chance: per class, the pooled share's
 * standard error of a difference of two proportions, times E|Z| = √(2/π) for a normal Z, summed
 * and halved like the distance itself.
 */
function samplingNoise(a: Readonly<Record<string, number>>, b: Readonly<Record<string, number>>): number {
  const totalA = sum(a);
  const totalB = sum(b);
  if (totalA === 0 || totalB === 0) return Number.NaN;
  const scale = Math.sqrt(2 / Math.PI) * Math.sqrt(1 / totalA + 1 / totalB);
  let noise = 0;
  for (const key of new Set([...Object.keys(a), ...Object.keys(b)])) {
    const pooled = ((a[key] ?? 0) + (b[key] ?? 0)) / (totalA + totalB);
    noise += scale * Math.sqrt(pooled * (1 - pooled));
  }
  return noise / 2;
}

/** Distribution disagreement with sampling noise removed, or null when either side predicted nothing. */
export function distributionDisagreement(
  candidate: Readonly<Record<string, number>>,
  stable: Readonly<Record<string, number>>,
): Disagreement | null {
  const distance = totalVariationDistance(candidate, stable);
  if (Number.isNaN(distance)) return null;
  const noise = samplingNoise(candidate, stable);
  const round = (value: number) => Number(value.toPrecision(2));
  return {
    method: 'distribution',
    value: Math.max(0, distance - noise),
    evidence: `class distance ${round(distance)} − sampling noise ${round(noise)}; ${sum(candidate)} vs ${sum(stable)} rows`,
  };
}

function sum(record: Readonly<Record<string, number>>): number {
  return Object.values(record).reduce((total, count) => total + count, 0);
}
