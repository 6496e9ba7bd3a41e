/**
 * The messages between validation and its isolated onnxruntime process, over Node's IPC channel
 * with `advanced` serialization (structured clone, so typed arrays cross as typed arrays).
 *
 *   child → parent  ready                      the child is up and has loaded onnxruntime
 *   parent → child  run { request }            one ModelRunRequest; the child serves exactly one
 *   child → parent  progress { details }       heartbeat material: loading, holdout rows, latency runs
 *   child → parent  result { result }          the ModelRunResult
 *   child → parent  failure { type, message, details }   a ModelError, re-raised by the parent
 *   child → parent  error { message }          anything else (a bug, not the model's fault)
 *
 * What the child sends is parsed with zod: the parent trusts nothing a process running a hostile
 * model says beyond this shape.
 */
import { z } from 'zod';
import { ModelErrorKind } from './errors.ts';
import type { ModelRunRequest } from './model-run.ts';

export type ParentMessage = { kind: 'run'; request: ModelRunRequest };

const dtype = z.string().max(64);
const tensorSignature = z.object({ name: z.string(), dtype, shape: z.array(z.number()) });

/** Messages the child may send, as the parent parses them. */
export const ChildMessage = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('ready') }),
  z.object({
    kind: z.literal('progress'),
    details: z.object({ phase: z.string().max(64) }).catchall(z.number()),
  }),
  z.object({
    kind: z.literal('result'),
    result: z.object({
      signature: z.object({ inputs: z.array(tensorSignature), outputs: z.array(tensorSignature) }),
      predictions: z.instanceof(Int32Array),
      probabilities: z
        .object({ columns: z.number().int().positive(), values: z.instanceof(Float32Array) })
        .optional(),
      latency: z.object({ p50Ms: z.number(), p99Ms: z.number(), runs: z.number().int() }),
      onnxruntimeVersion: z.string().max(64),
      permutation: z
        .object({
          rows: z.number().int().nonnegative(),
          features: z.number().int().nonnegative(),
          predictions: z.instanceof(Int32Array),
          elapsedMs: z.number().nonnegative(),
        })
        .optional(),
    }),
  }),
  z.object({
    kind: z.literal('failure'),
    type: z.enum(ModelErrorKind),
    message: z.string(),
    details: z.unknown(),
  }),
  z.object({ kind: z.literal('error'), message: z.string() }),
]);
export type ChildMessage = z.output<typeof ChildMessage>;
