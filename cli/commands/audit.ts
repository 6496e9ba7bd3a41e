/** `modelship audit show|verify|export`: read, check and hand over the audit trail. */
import { createWriteStream, existsSync } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { isAbsolute, resolve } from 'node:path';
import { finished } from 'node:stream/promises';
import type { ChainAnchor } from '../../audit/chain.ts';
import { checkpointsPathFor } from '../../audit/checkpoint-file.ts';
import { checkpointKeyPath, publicKeyPathOf } from '../../audit/checkpoint-key.ts';
import { exportJsonl, readJsonlRecords } from '../../audit/export.ts';
import { formatRecordTable } from '../../audit/format.ts';
import type { AuditRecord } from '../../audit/record.ts';
import {
  type AuditFilter,
  type AuditStore,
  AuditStoreError,
  AuditStoreNotFoundError,
  defaultAuditHome,
} from '../../audit/store.ts';
import { formatVerifyReport } from '../../audit/verify-format.ts';
import {
  type AuditVerifyOptions,
  type AuditVerifyReport,
  verifyAuditExport,
  verifyAuditStore,
} from '../../audit/verify-log.ts';
import { AUDIT_READER_OPTIONS, withAuditReader } from '../audit-reader.ts';
import { CliError, type Command, parseCommandArgs } from '../command.ts';

const USAGE = `Usage: modelship audit <command> [options]

Commands:
  show [model] [--workflow ID] [--env ENV] [--limit N] [--json] [--file JSONL]
      Print records (oldest first; --limit keeps the most recent N).
  verify [--file JSONL] [--checkpoints FILE] [--checkpoint-key PUB] [--anchor SEQ:HASH] [--json]
      Check every row of the table (rows outside the chain are listed), the hash chain, and the
      writer's signed checkpoints (default $MODELSHIP_HOME/audit-checkpoints.jsonl, checked with
      $MODELSHIP_HOME/keys/audit-checkpoint.pub or --checkpoint-key): a log cut short or
      rewritten before a checkpoint fails. Exit 1 on any problem. With --file or --url,
      checkpoints are checked only when --checkpoints is given. --anchor fails unless record
      SEQ still has HASH.
  export [--out FILE]
      Write every record as JSON Lines (stdout unless --out); verify a copy with --file.
      Refuses a log holding rows outside the chain (verify lists them).

Options:
  --home DIR   state directory holding audit.db (default $MODELSHIP_HOME, else .modelship)
  --url URL    PostgreSQL audit log instead (default $MODELSHIP_AUDIT_URL, which beats
               $MODELSHIP_HOME); prefer the variable for a URL with a password, which
               other users can see on a command line`;

const STORE = AUDIT_READER_OPTIONS;

type Values = Record<string, string | boolean | string[] | boolean[] | undefined>;

export const command: Command = {
  async run(argv) {
    const [name, ...rest] = argv;
    if (name === undefined || name === '--help' || name === '-h') {
      console.log(USAGE);
      return name === undefined ? 2 : 0;
    }
    try {
      switch (name) {
        case 'show':
          return await show(rest);
        case 'verify':
          return await verify(rest);
        case 'export':
          return await exportLog(rest);
        default:
          throw new CliError(`audit: unknown command "${name}"\n\n${USAGE}`);
      }
    } catch (error) {
      // A missing or unreadable log is an answer for the user, not a crash: one line, exit 1.
      if (error instanceof AuditStoreNotFoundError || error instanceof AuditStoreError) {
        throw new CliError(`audit ${name}: ${error.message}`, 1);
      }
      throw error;
    }
  },
};

async function show(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs(
    argv,
    {
      ...STORE,
      workflow: { type: 'string' },
      env: { type: 'string' },
      limit: { type: 'string' },
      json: { type: 'boolean' },
      file: { type: 'string' },
    },
    USAGE,
  );
  if (positionals.length > 1)
    throw new CliError(`audit show: one model at most, got ${positionals.join(' ')}`);
  const filter: AuditFilter = {};
  if (positionals[0] !== undefined) filter.model = positionals[0];
  if (typeof values.workflow === 'string') filter.workflowId = values.workflow;
  if (typeof values.env === 'string') filter.environment = values.env;
  if (typeof values.limit === 'string') filter.limit = parseLimit(values.limit);
  const records =
    typeof values.file === 'string'
      ? filterRecords(await readJsonlRecords(existingFile(values.file)), filter)
      : await withStore(values, (store) => store.list(filter));
  if (values.json) console.log(JSON.stringify(records, null, 2));
  else if (records.length === 0) console.log('audit show: no matching records');
  else console.log(formatRecordTable(records));
  return 0;
}

async function verify(argv: string[]): Promise<number> {
  const { values } = parseCommandArgs(
    argv,
    {
      ...STORE,
      file: { type: 'string' },
      anchor: { type: 'string' },
      checkpoints: { type: 'string' },
      'checkpoint-key': { type: 'string' },
      json: { type: 'boolean' },
    },
    USAGE,
  );
  const options: AuditVerifyOptions = verifyOptions(values);
  const report: AuditVerifyReport =
    typeof values.file === 'string'
      ? await verifyAuditExport(existingFile(values.file), options)
      : await withStore(values, (store) => verifyAuditStore(store, options));
  const text = formatVerifyReport(report);
  if (values.json) console.log(JSON.stringify(report));
  else for (const line of text.stdout) console.log(line);
  for (const line of text.stderr) console.error(line);
  return report.ok ? 0 : 1;
}

/**
 * The anchor and the checkpoints to check. Checkpoints default to the ones the writer keeps in
 * the home, checked with the public key beside its signing key. A log named by `--url` or a
 * JSONL copy (`--file`) is held against checkpoints only when they are named: the home's may
 * belong to another log, and a mismatch would be reported as tampering.
 */
function verifyOptions(values: Values): AuditVerifyOptions {
  const home = defaultAuditHome({
    MODELSHIP_HOME: typeof values.home === 'string' ? values.home : process.env.MODELSHIP_HOME,
  });
  const named = typeof values.checkpoints === 'string' ? resolve(values.checkpoints) : undefined;
  const elsewhere = typeof values.file === 'string' || typeof values.url === 'string';
  const path = named ?? (elsewhere ? undefined : checkpointsPathFor(home));
  const keyPath =
    typeof values['checkpoint-key'] === 'string'
      ? resolve(values['checkpoint-key'])
      : publicKeyPathOf(checkpointKeyPath(home));
  return {
    ...(typeof values.anchor === 'string' ? { anchor: parseAnchor(values.anchor) } : {}),
    ...(path === undefined ? {} : { checkpoints: { path, keyPath } }),
  };
}

async function exportLog(argv: string[]): Promise<number> {
  const { values } = parseCommandArgs(argv, { ...STORE, out: { type: 'string' } }, USAGE);
  const out = typeof values.out === 'string' ? resolve(values.out) : undefined;
  if (out === undefined) {
    try {
      await withStore(values, (store) => exportJsonl(store, process.stdout));
    } catch (error) {
      // The reader went away (`| head`): that is how pipes end, not a failure of the export.
      if ((error as NodeJS.ErrnoException).code !== 'EPIPE') throw error;
    }
    return 0;
  }
  // Write beside the target and rename, so an interrupted export never looks like a complete one.
  const partial = `${out}.partial`;
  const stream = createWriteStream(partial);
  try {
    const count = await withStore(values, (store) => exportJsonl(store, stream));
    stream.end();
    await finished(stream);
    await rename(partial, out);
    console.error(`audit export: ${count} records to ${out}`);
    return 0;
  } catch (error) {
    stream.destroy();
    await rm(partial, { force: true });
    throw error;
  }
}

function withStore<T>(values: Values, use: (store: AuditStore) => Promise<T>): Promise<T> {
  return withAuditReader(values, 'audit', use);
}

function filterRecords(records: AuditRecord[], filter: AuditFilter): AuditRecord[] {
  const matching = records.filter(
    (record) =>
      (filter.model === undefined || record.model === filter.model) &&
      (filter.environment === undefined || record.environment === filter.environment) &&
      (filter.workflowId === undefined || record.workflowId === filter.workflowId),
  );
  return filter.limit === undefined ? matching : matching.slice(Math.max(0, matching.length - filter.limit));
}

function existingFile(path: string): string {
  const absolute = isAbsolute(path) ? path : resolve(path);
  if (!existsSync(absolute)) throw new CliError(`audit: no such file: ${path}`, 1);
  return absolute;
}

function parseLimit(text: string): number {
  const limit = Number(text);
  if (!Number.isInteger(limit) || limit < 1)
    throw new CliError(`audit show: --limit must be a positive integer`);
  return limit;
}

function parseAnchor(text: string): ChainAnchor {
  const match = /^(\d+):([0-9a-f]{64})$/.exec(text.trim());
  if (!match?.[1] || !match[2] || Number(match[1]) < 1) {
    throw new CliError('audit verify: --anchor must be SEQ:HASH, e.g. 42:<64 hex characters>');
  }
  return { seq: Number(match[1]), hash: match[2] };
}
