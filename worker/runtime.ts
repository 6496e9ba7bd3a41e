/**
 * The Temporal SDK's process-wide runtime, installed with our log level. The SDK logs every
 * worker state change at INFO, which buries a command's own progress lines, so modelship's
 * commands run it at WARN unless MODELSHIP_LOG_LEVEL asks for more.
 *
 * An activity that refuses a change with a domain failure (a failed scan, an unproven origin)
 * has not failed as software: the refusal is the run's outcome, shown by the command and kept in
 * the audit log. The SDK would print it as a WARN with a stack trace, so it is logged at INFO.
 */
import { inspect } from 'node:util';
import { DefaultLogger, type LogEntry, type LogLevel, Runtime } from '@temporalio/worker';
import { isDomainFailureType } from '../domain/failure-types.ts';

let installed = false;

/** Installs the runtime once per process; later calls are no-ops (the SDK allows one install). */
export function installRuntime(level: LogLevel): void {
  if (installed) return;
  Runtime.install({ logger: new DefaultLogger(level, (entry) => writeEntry(entry, level)) });
  installed = true;
}

const ORDER: LogLevel[] = ['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR'];

/** True for the SDK's "Activity failed" entry of a domain failure. */
export function isDomainRefusal(entry: Pick<LogEntry, 'message' | 'meta'>): boolean {
  const error = (entry.meta as { error?: { type?: unknown } } | undefined)?.error;
  return entry.message === 'Activity failed' && isDomainFailureType(error?.type as string | undefined);
}

function writeEntry(entry: LogEntry, threshold: LogLevel): void {
  const level = isDomainRefusal(entry) ? 'INFO' : entry.level;
  if (ORDER.indexOf(level) < ORDER.indexOf(threshold)) return;
  const time = new Date(Number(entry.timestampNanos / 1_000_000n)).toISOString();
  const meta = entry.meta === undefined ? '' : ` ${inspect(entry.meta, { depth: 4, breakLength: 120 })}`;
  process.stderr.write(`${time} [${level}] ${entry.message}${meta}\n`);
}
