/**
 * Data quality at the door: the constraints `spec.interface.inputs[].features` puts on the
 * columns of a 2-D input, compiled once at load into flat arrays indexed by column, so that the
 * request path checks a value with a few comparisons and no lookup by name.
 *
 * Bounds and allowed values are rounded to the tensor's precision (FP32 for most models), the
 * precision the value itself was stored in: rounding is monotone, so a value the client sent
 * within the bounds is never refused because of the rounding (0.1 against `min: 0.1`, both stored
 * as 0.10000000149011612).
 */
import type { FeatureConstraint, InputTensorSpec } from '../specs/schema.ts';

/** A value passes its column's constraints. */
export const PASSES = 0;
const MISSING = 1;
const BELOW = 2;
const ABOVE = 3;
const NOT_ALLOWED = 4;

/** One value that broke a constraint, as a refusal reports it. */
export interface Violation {
  input: string;
  feature: string;
  column: number;
  /** The row of the request's batch, from 0. */
  row: number;
  /** The value as the client sent it (as the tensor stores it); null when missing. */
  value: number | null;
  /** The broken constraint as the spec writes it: `min: 4`, `max: 8.5`, `allowed: [0, 1, 2]`, `missing: deny`. */
  constraint: string;
}

/** A short list of numbers for a message: at most 10 of them. */
const listText = (values: readonly number[]) =>
  `[${values.slice(0, 10).join(', ')}${values.length > 10 ? `, ... (${values.length} values)` : ''}]`;

/** The constraints of one input's columns. */
export class QualityPlan {
  /** Columns the spec declares: a request's rows must have exactly this many. */
  readonly width: number;
  /** Each column's feature name, in order. */
  readonly names: readonly string[];
  /** `onViolation: reject`: a request with a violation is refused. */
  readonly reject: boolean;
  private readonly low: Float64Array;
  private readonly high: Float64Array;
  /** Sorted allowed values per column (in the tensor's precision), undefined where not restricted. */
  private readonly allowed: readonly (Float64Array | undefined)[];
  private readonly missingAllowed: Uint8Array;

  constructor(
    readonly input: string,
    private readonly spec: readonly FeatureConstraint[],
    onViolation: InputTensorSpec['onViolation'],
    /** Rounds a bound to the tensor's precision (Math.fround for FP32). */
    round: (value: number) => number,
  ) {
    this.width = spec.length;
    this.names = spec.map((feature) => feature.name);
    this.reject = onViolation === 'reject';
    this.low = Float64Array.from(spec, (f) =>
      f.min === undefined ? Number.NEGATIVE_INFINITY : round(f.min),
    );
    this.high = Float64Array.from(spec, (f) =>
      f.max === undefined ? Number.POSITIVE_INFINITY : round(f.max),
    );
    this.allowed = spec.map((f) =>
      f.allowed === undefined ? undefined : Float64Array.from(f.allowed, round).sort(),
    );
    this.missingAllowed = Uint8Array.from(spec, (f) => (f.missing === 'allow' ? 1 : 0));
  }

  /** {@link PASSES}, or the code of the constraint `value` breaks in `column`. */
  check(column: number, value: number): number {
    // NaN is what a JSON null became (the only way a NaN can arrive: a numeric NaN cannot be sent).
    if (Number.isNaN(value)) return this.missingAllowed[column] === 1 ? PASSES : MISSING;
    if (value < (this.low[column] as number)) return BELOW;
    if (value > (this.high[column] as number)) return ABOVE;
    const allowed = this.allowed[column];
    if (allowed === undefined) return PASSES;
    let low = 0;
    let high = allowed.length - 1;
    while (low <= high) {
      const mid = (low + high) >>> 1;
      const at = allowed[mid] as number;
      if (at === value) return PASSES;
      if (at < value) low = mid + 1;
      else high = mid - 1;
    }
    return NOT_ALLOWED;
  }

  /**
   * The breach a {@link check} code stands for: its message and the violation as data. `value` is
   * as stored; `float32` when the tensor is FP32, so the message shows 9.2 rather than 9.1999998.
   */
  breach(code: number, row: number, column: number, value: number, float32: boolean): Breach {
    const feature = this.spec[column];
    const shown = Number.isNaN(value) ? null : float32 ? shortestFloat32(value) : value;
    let constraint: string;
    let broken: string;
    if (code === BELOW) {
      constraint = `min: ${feature?.min}`;
      broken = `${shown} is below min ${feature?.min}`;
    } else if (code === ABOVE) {
      constraint = `max: ${feature?.max}`;
      broken = `${shown} is above max ${feature?.max}`;
    } else if (code === NOT_ALLOWED) {
      constraint = `allowed: ${listText(feature?.allowed ?? [])}`;
      broken = `${shown} is not one of the allowed values ${listText(feature?.allowed ?? [])}`;
    } else {
      constraint = 'missing: deny';
      broken = 'the value is missing (null), which the spec does not allow (missing: deny)';
    }
    const name = this.names[column] ?? '';
    return {
      message: `input "${this.input}", feature "${name}" (column ${column}), row ${row}: ${broken}`,
      violation: { input: this.input, feature: name, column, row, value: shown, constraint },
      reject: this.reject,
    };
  }
}

/** The first constraint a request broke: the message for the client and the violation as data. */
export interface Breach {
  message: string;
  violation: Violation;
  /** The input's `onViolation` is reject: the request is refused. */
  reject: boolean;
}

/** The shortest decimal that FP32 stores as `value`: 9.2, not 9.199999809265137. */
function shortestFloat32(value: number): number {
  for (let digits = 6; digits < 9; digits += 1) {
    const candidate = Number(value.toPrecision(digits));
    if (Math.fround(candidate) === value) return candidate;
  }
  return value;
}
