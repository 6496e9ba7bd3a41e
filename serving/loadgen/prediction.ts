/** Reads the predicted class out of a KServe V2 inference response body. */

interface V2Output {
  name?: unknown;
  data?: unknown;
}

/**
 * The first element of the output named `output`, as a number; undefined when the body is not
 * JSON, has no such output, or the value is not an integer. INT64 data may arrive as JSON
 * numbers or as decimal strings, and `data` may be nested by row; both are accepted.
 */
export function predictionOf(body: Buffer, output: string): number | undefined {
  let parsed: { outputs?: unknown };
  try {
    parsed = JSON.parse(body.toString('utf8')) as { outputs?: unknown };
  } catch {
    return undefined;
  }
  if (!Array.isArray(parsed.outputs)) return undefined;
  const found = (parsed.outputs as V2Output[]).find((candidate) => candidate?.name === output);
  let first: unknown = found?.data;
  while (Array.isArray(first)) first = first[0];
  if (typeof first === 'string' && /^-?\d+$/.test(first)) first = Number(first);
  return typeof first === 'number' && Number.isInteger(first) ? first : undefined;
}
