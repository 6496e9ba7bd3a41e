/**
 * The process-wide onnxruntime settings every session of ours is created under.
 *
 * Since 1.29 the Linux and macOS builds of onnxruntime carry Microsoft's 1DS telemetry client.
 * It starts with the first session's OrtEnv and opens its debug log, `mat-debug-<pid>.log` in the
 * temp folder, whether or not it ever writes to it: every process that loaded a model left an
 * empty file behind (`strings libonnxruntime.so.1` shows `mat-debug-`, `.log`, `traceFolderPath`
 * next to `ORT_DISABLE_TELEMETRY`). The library reads `ORT_DISABLE_TELEMETRY` when it creates
 * that OrtEnv, i.e. at the first `InferenceSession.create`, not at `import`: set beforehand it
 * keeps the client from starting, so no file and no telemetry from a model server, which is what
 * we want anyway. An environment variable rather than deleting the file afterwards, because it
 * stops the cause (and the outbound events) instead of tidying up after it; a session option
 * does not exist for it. A value the operator set is left alone.
 */
import { InferenceSession } from 'onnxruntime-node';

/** Sets the environment onnxruntime reads when it creates its OrtEnv; idempotent. */
export function prepareOnnxRuntime(): void {
  process.env.ORT_DISABLE_TELEMETRY ??= '1';
}

/** `InferenceSession.create` from a file path, after {@link prepareOnnxRuntime}. */
export function createInferenceSession(
  path: string,
  options: InferenceSession.SessionOptions,
): Promise<InferenceSession> {
  prepareOnnxRuntime();
  return InferenceSession.create(path, options);
}
