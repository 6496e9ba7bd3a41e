/**
 * Live statistics of one version, and data quality at the door, on the request path.
 *
 * What a version receives is counted into the bins of its bundle's reference profile
 * (`domain/reference-profile.ts`, binned with the same `binOf`), so the monitor can compare the
 * two; the rows that break `spec.interface.inputs[].features` are counted per `input.feature`, and
 * under `onViolation: reject` the request is refused. Everything is laid out once, at load:
 * counters are typed arrays sized from the profile and the spec, which never grow with traffic,
 * and one request costs one walk over its input's typed array with no allocation (unless it is
 * refused, or its input is INT64, whose values are first converted to numbers).
 *
 * Counted: routed requests whose body parsed, rejected ones included (the monitor's data-quality
 * rate is violations over rows received). Pinned requests are checked, never counted, like the
 * judge's counters (`metrics.ts`). Predicted classes are not counted here: `VersionMetrics`
 * already counts them for the judge, and `snapshot` reads them from there.
 *
 * Precision: an FP32 input's values are stored rounded to FP32, while the profile's cut points
 * are the holdout's values as doubles; 5.1 stored as 5.0999999 would fall below a cut point at
 * 5.1 that the reference counted it above. The cut points of an FP32 input are therefore rounded
 * to FP32 too (rounding is monotone: a value at or above a cut point stays at or above it).
 */
import type { Tensor } from 'onnxruntime-node';
import type { FeatureProfile, LiveStatistics, ReferenceProfile } from '../domain/reference-profile.ts';
import { binCount, binOf } from '../domain/reference-profile.ts';
import type { InputTensorSpec } from '../specs/schema.ts';
import type { KServeDatatype } from './dtypes.ts';
import { type Breach, PASSES, QualityPlan } from './input-quality.ts';

/** What the statistics need to know of a model input. */
export interface WatchedInput {
  name: string;
  datatype: KServeDatatype;
  /** Declared dimensions, -1 where any size is accepted (after the spec's features fixed the width). */
  shape: readonly number[];
}

/** A profile or constraint that does not fit the model; the version cannot be loaded. */
export class StatisticsPlanError extends Error {
  override readonly name = 'StatisticsPlanError';
}

/** A feature of the profile in the precision of the tensor it is read from. */
function inPrecision(feature: FeatureProfile, round: (value: number) => number): FeatureProfile {
  return feature.kind === 'numeric'
    ? { ...feature, edges: feature.edges.map(round) }
    : { ...feature, categories: feature.categories.map(round) };
}

const identity = (value: number) => value;

/** One input's checks and counters. */
export class InputWatch {
  /** The profile's features read from this input (cut points in the tensor's precision). */
  readonly features: readonly FeatureProfile[];
  /** Each feature's column. */
  private readonly columns: Int32Array;
  /** Where each feature's bins start in `counts`. */
  private readonly offsets: Int32Array;
  /** Rows per bin, every feature's bins one after the other. */
  readonly counts: Float64Array;
  /** Missing values per feature. */
  readonly missing: Float64Array;
  /** Rows that broke a constraint, per declared column. */
  readonly violations: Float64Array;
  private readonly float32: boolean;
  private readonly big: boolean;

  constructor(
    readonly input: WatchedInput,
    features: readonly FeatureProfile[],
    readonly quality: QualityPlan | undefined,
  ) {
    this.float32 = input.datatype === 'FP32';
    this.big = input.datatype === 'INT64' || input.datatype === 'UINT64';
    const round = this.float32 ? Math.fround : identity;
    this.features = features.map((feature) => inPrecision(feature, round));
    this.columns = Int32Array.from(features, (feature) => feature.column);
    this.offsets = new Int32Array(features.length);
    let total = 0;
    features.forEach((feature, index) => {
      this.offsets[index] = total;
      total += binCount(feature);
    });
    this.counts = new Float64Array(total);
    this.missing = new Float64Array(features.length);
    this.violations = new Float64Array(quality?.width ?? 0);
  }

  /**
   * Counts (when `counting`) and checks one request's tensor of this input, `[rows, width]`;
   * returns the first constraint a row broke, if any. With `checkAll` false (monitoring off),
   * only constraints that refuse (`onViolation: reject`) are checked: the others would only count.
   */
  observe(tensor: Tensor, counting: boolean, checkAll: boolean): Breach | undefined {
    const quality = this.quality;
    if (!counting && (quality === undefined || (!checkAll && !quality.reject))) return undefined;
    const rows = tensor.dims[0] ?? 0;
    const width = tensor.dims[1] ?? 0;
    const data = (
      this.big ? Float64Array.from(tensor.data as BigInt64Array, Number) : tensor.data
    ) as ArrayLike<number>;
    const { features, columns, offsets, counts, missing, violations } = this;
    const featureCount = features.length;
    const declared = quality?.width ?? 0;
    let broken = PASSES;
    let brokenAt = 0;
    for (let row = 0, base = 0; row < rows; row += 1, base += width) {
      if (counting) {
        for (let f = 0; f < featureCount; f += 1) {
          const column = columns[f] as number;
          // A profile column past a dynamic input's width is missing from this request.
          const bin = binOf(
            features[f] as FeatureProfile,
            column < width ? (data[base + column] as number) : Number.NaN,
          );
          if (bin < 0) missing[f] = (missing[f] as number) + 1;
          else counts[(offsets[f] as number) + bin] = (counts[(offsets[f] as number) + bin] as number) + 1;
        }
      }
      for (let column = 0; column < declared; column += 1) {
        const code = (quality as QualityPlan).check(column, data[base + column] as number);
        if (code === PASSES) continue;
        if (counting) violations[column] = (violations[column] as number) + 1;
        if (broken === PASSES) {
          broken = code;
          brokenAt = base + column;
        }
      }
    }
    if (broken === PASSES || quality === undefined) return undefined;
    const row = Math.floor(brokenAt / width);
    return quality.breach(broken, row, brokenAt - row * width, data[brokenAt] as number, this.float32);
  }
}

/** The statistics of one version (one bundle digest) in this process. */
export class VersionStatistics {
  /** When counting began: the version's first load with this bundle. */
  readonly since = new Date().toISOString();
  /** Routed requests counted, and their rows. */
  requests = 0;
  rows = 0;
  /** Routed requests refused under `onViolation: reject`. */
  rejectedRequests = 0;

  constructor(
    readonly bundleDigest: string,
    readonly profile: ReferenceProfile | undefined,
    /** The inputs with profile features or constraints; the profile's input first. */
    readonly watches: readonly InputWatch[],
    /** The input whose first dimension counts the rows. */
    private readonly rowsInput: string,
  ) {}

  /**
   * Checks one request's inputs and, when `counting` (a routed request, monitoring on), counts
   * them; `monitoring` says whether constraints that only count are checked too (for pinned
   * requests, whose breaches are not counted but still decide whose a model failure is). Returns
   * the first breach, preferring one that refuses the request (`onViolation: reject`).
   */
  observe(
    feeds: Readonly<Record<string, Tensor>>,
    counting: boolean,
    monitoring: boolean,
  ): Breach | undefined {
    let first: Breach | undefined;
    for (const watch of this.watches) {
      const tensor = feeds[watch.input.name];
      if (tensor === undefined) continue;
      const breach = watch.observe(tensor, counting, monitoring);
      if (breach !== undefined && (first === undefined || (breach.reject && !first.reject))) first = breach;
    }
    if (counting) {
      this.requests += 1;
      this.rows += feeds[this.rowsInput]?.dims[0] ?? 0;
      if (first?.reject) this.rejectedRequests += 1;
    }
    return first;
  }

  /** Per declared feature, `input.feature` → rows that broke a constraint. */
  violations(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const watch of this.watches) {
      watch.quality?.names.forEach((name, column) => {
        out[`${watch.input.name}.${name}`] = watch.violations[column] ?? 0;
      });
    }
    return out;
  }

  /** The answer of `GET /admin/v1/models/{m}/statistics` for this version; `predictions` from `VersionMetrics`. */
  snapshot(model: string, version: string, predictions: Readonly<Record<string, number>>): LiveStatistics {
    const features: LiveStatistics['features'] = [];
    const watch = this.profile && this.watches.find((w) => w.input.name === this.profile?.input);
    if (watch) {
      let offset = 0;
      watch.features.forEach((feature, index) => {
        const bins = binCount(feature);
        features.push({
          name: feature.name,
          counts: Array.from(watch.counts.subarray(offset, offset + bins)),
          missing: watch.missing[index] ?? 0,
        });
        offset += bins;
      });
    }
    const classes = [...(this.profile?.predictions.classes ?? [])];
    for (const label of Object.keys(predictions)) if (!classes.includes(label)) classes.push(label);
    return {
      model,
      version,
      bundleDigest: this.bundleDigest,
      since: this.since,
      requests: this.requests,
      rows: this.rows,
      features,
      predictions: { classes, counts: classes.map((label) => predictions[label] ?? 0) },
      quality: { violations: this.violations(), rejectedRequests: this.rejectedRequests },
    };
  }
}

/** The two-dimensional width of `input`, or a load error naming `what` needs it. */
function widthOf(input: WatchedInput, what: string): number {
  if (input.shape.length !== 2) {
    throw new StatisticsPlanError(
      `${what} needs input "${input.name}" to be 2-D [rows, columns]; the model's shape is [${input.shape.join(', ')}]`,
    );
  }
  return input.shape[1] as number;
}

/**
 * Lays out the statistics of a version from its bundle's profile and spec and the model's
 * inputs. Throws StatisticsPlanError when they do not fit the model.
 */
export function planStatistics(
  bundle: {
    digest: string;
    profile: ReferenceProfile | undefined;
    interface: { inputs: readonly InputTensorSpec[] };
  },
  inputs: readonly WatchedInput[],
): VersionStatistics {
  const byName = new Map(inputs.map((input) => [input.name, input]));
  const watches: InputWatch[] = [];
  const profile = bundle.profile;
  const constrained = bundle.interface.inputs.filter((spec) => spec.features !== undefined);
  const qualityOf = (input: WatchedInput) => {
    const spec = constrained.find((candidate) => candidate.name === input.name);
    if (spec?.features === undefined) return undefined;
    const width = widthOf(input, `spec.interface.inputs "${input.name}".features`);
    if (width !== -1 && width !== spec.features.length) {
      throw new StatisticsPlanError(
        `spec.interface.inputs "${input.name}" lists ${spec.features.length} features, but the model's input has ${width} columns`,
      );
    }
    return new QualityPlan(
      input.name,
      spec.features,
      spec.onViolation,
      input.datatype === 'FP32' ? Math.fround : identity,
    );
  };
  if (profile !== undefined && profile.features.length > 0) {
    const input = byName.get(profile.input);
    if (input === undefined) {
      throw new StatisticsPlanError(
        `the reference profile describes input "${profile.input}", which the model does not have`,
      );
    }
    const width = widthOf(input, 'the reference profile');
    const beyond = profile.features.find((feature) => width !== -1 && feature.column >= width);
    if (beyond !== undefined) {
      throw new StatisticsPlanError(
        `the reference profile's feature "${beyond.name}" is column ${beyond.column}, but input "${input.name}" has ${width} columns`,
      );
    }
    watches.push(new InputWatch(input, profile.features, qualityOf(input)));
  }
  for (const spec of constrained) {
    if (watches.some((watch) => watch.input.name === spec.name)) continue;
    const input = byName.get(spec.name);
    if (input === undefined) {
      throw new StatisticsPlanError(
        `spec.interface.inputs names "${spec.name}", which the model does not have as an input`,
      );
    }
    watches.push(new InputWatch(input, [], qualityOf(input)));
  }
  const rowsInput = watches[0]?.input.name ?? inputs[0]?.name ?? '';
  return new VersionStatistics(bundle.digest, profile, watches, rowsInput);
}
