/**
 * The Temporal SDK's process-wide runtime, installed with our log level. The SDK logs every
 * worker state change at INFO, which buries a command's own progress lines, so modelship's
 * commands run it at WARN unless MODELSHIP_LOG_LEVEL asks for more.
 */
import { DefaultLogger, type LogLevel, Runtime } from '@temporalio/worker';

let installed = false;

/** Installs the runtime once per process; later calls are no-ops (the SDK allows one install). */
export function installRuntime(level: LogLevel): void {
  if (installed) return;
  Runtime.install({ logger: new DefaultLogger(level) });
  installed = true;
}
