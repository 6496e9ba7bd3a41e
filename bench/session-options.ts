/** onnxruntime session options shared by the in-process measurement and the floor server. */
import type { InferenceSession } from 'onnxruntime-node';

/**
 * The options `serving/model-version.ts` loads models with (CPU, warnings off, onnxruntime's
 * default threading), so that the floor differs from modelship's server only in the server
 * code. The benchmark pins every server to one core, which also keeps onnxruntime's intra-op
 * threads off the load generator's core.
 */
export const BENCH_SESSION_OPTIONS: InferenceSession.SessionOptions = {
  executionProviders: ['cpu'],
  logSeverityLevel: 3,
};
