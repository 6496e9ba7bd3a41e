/**
 * Everything `modelship audit verify` checks, as one report: the rows of the table (every one
 * accounted for), the hash chain, and the signed checkpoints. A JSONL export is checked the same
 * way, without the table.
 *
 * The checkpoint file is read BEFORE the chain is walked. A writer appends a checkpoint only
 * after the record it names is committed, so every checkpoint read first names a record the walk
 * must find; read afterwards, a checkpoint written meanwhile could name a record appended after
 * the walk ended and look like a truncation.
 */
import { type Finding, type TableReport, tableIsClean } from './census.ts';
import type { VerifyOptions, VerifyResult } from './chain.ts';
import { type ChainFacts, checkCheckpoints } from './checkpoint-check.ts';
import { type CheckpointEntry, readCheckpoints } from './checkpoint-file.ts';
import { loadTrustedKey } from './checkpoint-key.ts';
import { verifyJsonlFile } from './export.ts';
import { type AuditStore, AuditStoreError, type ChainAnchor } from './store.ts';

/** Which checkpoints to check, and with which public key. */
export interface CheckpointsToCheck {
  /** The checkpoint file (JSON Lines). */
  path: string;
  /** The trusted public key (or its private key) that signed them. */
  keyPath: string;
}

/** What checking the checkpoints found. */
export interface CheckpointReport {
  /** The file read; undefined when none was to be checked. */
  path: string | undefined;
  /** Whether that file exists. */
  found: boolean;
  /** Checkpoints (lines) in it. */
  total: number;
  /** The key signatures were checked with, when it could be read. */
  key: { keyId: string; path: string } | undefined;
  /** Checkpoints whose signature verified and whose record matched. */
  matched: number;
  /** The newest matching checkpoint. */
  newest: { seq: number; time: string } | undefined;
  /** Verified records after the newest matching checkpoint: covered by none yet. */
  uncovered: number;
  findings: Finding[];
}

/** The whole verdict of `audit verify`. */
export interface AuditVerifyReport {
  /** Nothing anywhere is a problem (warnings aside): the exit code. */
  ok: boolean;
  /** What was verified: a store's location or an export's path. */
  source: string;
  chain: VerifyResult;
  /** The table's census; undefined for an export, which has no table. */
  table: TableReport | undefined;
  checkpoints: CheckpointReport;
}

/** Options of {@link verifyAuditStore} and {@link verifyAuditExport}. */
export interface AuditVerifyOptions {
  /** A head pinned by hand (`--anchor`). */
  anchor?: ChainAnchor;
  /** The checkpoints to hold the chain against; without them the report says none were checked. */
  checkpoints?: CheckpointsToCheck;
}

/** Verifies a store: table, chain and checkpoints. */
export function verifyAuditStore(
  store: AuditStore,
  options: AuditVerifyOptions = {},
): Promise<AuditVerifyReport> {
  return verifyWith(store.location, options, (walk) => store.verify(walk));
}

/** Verifies a JSONL export: chain and (when given) checkpoints. */
export function verifyAuditExport(
  path: string,
  options: AuditVerifyOptions = {},
): Promise<AuditVerifyReport> {
  return verifyWith(path, options, async (walk) => ({
    chain: await verifyJsonlFile(path, walk),
    table: undefined,
  }));
}

async function verifyWith(
  source: string,
  options: AuditVerifyOptions,
  walk: (options: VerifyOptions) => Promise<{ chain: VerifyResult; table: TableReport | undefined }>,
): Promise<AuditVerifyReport> {
  const entries = options.checkpoints ? await readCheckpoints(options.checkpoints.path) : undefined;
  const wanted = new Set(entries?.flatMap((entry) => ('checkpoint' in entry ? [entry.checkpoint.seq] : [])));
  const hashes = new Map<number, string>();
  let verifiedHead = 0;
  const { chain, table } = await walk({
    ...(options.anchor ? { anchor: options.anchor } : {}),
    onRecord: (seq, hash) => {
      verifiedHead = seq;
      if (wanted.has(seq)) hashes.set(seq, hash);
    },
  });
  const checkpoints = await checkpointReport(options.checkpoints, entries, {
    ok: chain.ok,
    verifiedHead,
    hashes,
  });
  const ok =
    chain.ok &&
    (table === undefined || tableIsClean(table)) &&
    !checkpoints.findings.some((finding) => finding.level === 'problem');
  return { ok, source, chain, table, checkpoints };
}

async function checkpointReport(
  given: CheckpointsToCheck | undefined,
  entries: CheckpointEntry[] | undefined,
  chain: ChainFacts,
): Promise<CheckpointReport> {
  const report: CheckpointReport = {
    path: given?.path,
    found: entries !== undefined,
    total: entries?.length ?? 0,
    key: undefined,
    matched: 0,
    newest: undefined,
    uncovered: 0,
    findings: [],
  };
  if (!given) return report;
  if (!entries || entries.length === 0) {
    report.findings.push({
      level: 'warning',
      message:
        `${entries ? 'no checkpoints yet in' : 'no checkpoint file at'} ${given.path}: truncation of the newest ` +
        'records cannot be detected (a writer signs one every 100 records and when it stops)',
    });
    return report;
  }
  let trusted: Awaited<ReturnType<typeof loadTrustedKey>>;
  try {
    trusted = await loadTrustedKey(given.keyPath);
  } catch (error) {
    if (!(error instanceof AuditStoreError)) throw error;
    report.findings.push({
      level: 'problem',
      message: `cannot check the ${entries.length} checkpoints: ${error.message} (give the writer's public key with --checkpoint-key)`,
    });
    return report;
  }
  const verdict = checkCheckpoints(entries, trusted, chain);
  return {
    ...report,
    key: { keyId: trusted.keyId, path: trusted.path },
    matched: verdict.matched,
    newest: verdict.newest,
    uncovered: chain.ok && verdict.newest ? Math.max(0, chain.verifiedHead - verdict.newest.seq) : 0,
    findings: verdict.findings,
  };
}
