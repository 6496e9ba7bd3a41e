/**
 * The Temporal SDK's process-wide Runtime for tests that start workers in the test process.
 * `Runtime.install` may run once per Runtime; workflow test files share their worker process
 * (and its module registry) one after another, so a file may find the Runtime of the file before
 * it still up (the SDK shuts it down only once its last connection and worker are gone). That
 * Runtime is the same native core, so the file goes on with it; only its log level is the
 * earlier file's.
 */
import { IllegalStateError } from '@temporalio/common';
import { DefaultLogger, type LogLevel, Runtime } from '@temporalio/worker';

export function installTestRuntime(level: LogLevel): void {
  try {
    Runtime.install({ logger: new DefaultLogger(level) });
  } catch (error) {
    if (!(error instanceof IllegalStateError)) throw error;
  }
}
