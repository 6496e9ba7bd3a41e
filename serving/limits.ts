/**
 * Every bound the data plane puts on a request, in one place: how large a request and its
 * response may be, how deep its JSON may nest, how many tensor elements it may ask for, and how
 * long a client may take to send it. Each limit exists so that no single client can make the
 * server allocate, compute or wait without bound; each is refused with a 4xx and a JSON body
 * saying which limit was hit. `serving/README.md` has the table; `modelship serve` has a flag per
 * limit.
 *
 * The defaults are sized for tabular models over a LAN: a 1 MiB body holds tens of thousands
 * of rows, and a client on a LAN sends it in far less than the body timeout.
 */

/** The bounds one server applies to every request. */
export interface ServingLimits {
  /** Largest request body, in bytes; larger gets 413 and the connection is closed. */
  maxBodyBytes: number;
  /** Largest infer response body, in bytes; a request whose answer would be larger gets 413. */
  maxResponseBytes: number;
  /** Deepest nesting of arrays and objects in a request body; deeper gets 400 before parsing. */
  maxJsonDepth: number;
  /** Most tensor elements (the product of each input's shape, summed over inputs) in one request. */
  maxElements: number;
  /** Largest request head (request line and headers), in bytes; larger gets 431. */
  maxHeaderBytes: number;
  /** Time a client has to send the request head, in ms; slower gets 408 and the connection closed. */
  headersTimeoutMs: number;
  /** Time a client has to send the whole body once the head has arrived, in ms; slower gets 408. */
  bodyTimeoutMs: number;
}

/** The defaults of `startServingServer` and `modelship serve`. */
export const DEFAULT_LIMITS: Readonly<ServingLimits> = Object.freeze({
  maxBodyBytes: 1024 * 1024,
  // Responses are text for typed arrays: a float32 takes up to 15 characters where its request
  // took as few as 2, so a full-size request needs several times its size to answer.
  maxResponseBytes: 8 * 1024 * 1024,
  // A KServe request nests 3 levels before its data, and data nests as deep as the tensor's rank.
  maxJsonDepth: 32,
  maxElements: 1024 * 1024,
  // Node's own default, made explicit so it is documented and configurable with the others.
  maxHeaderBytes: 16 * 1024,
  headersTimeoutMs: 5_000,
  bodyTimeoutMs: 5_000,
});

/** Options that make no sense; thrown before anything listens. */
export class ServingConfigError extends Error {
  override readonly name = 'ServingConfigError';
}

/** The smallest value each limit accepts (anything lower would refuse every request). */
const MINIMUM: Readonly<Record<keyof ServingLimits, number>> = {
  maxBodyBytes: 1,
  maxResponseBytes: 1024,
  maxJsonDepth: 4,
  maxElements: 1,
  maxHeaderBytes: 1024,
  headersTimeoutMs: 100,
  bodyTimeoutMs: 100,
};

/** The limits with defaults filled in; throws ServingConfigError naming the first unusable one. */
export function resolveLimits(given: Partial<ServingLimits>): ServingLimits {
  const limits = { ...DEFAULT_LIMITS };
  for (const key of Object.keys(MINIMUM) as (keyof ServingLimits)[]) {
    const value = given[key];
    if (value === undefined) continue;
    if (!Number.isSafeInteger(value) || value < MINIMUM[key]) {
      throw new ServingConfigError(`${key} must be an integer of at least ${MINIMUM[key]}, got ${value}`);
    }
    limits[key] = value;
  }
  return limits;
}
