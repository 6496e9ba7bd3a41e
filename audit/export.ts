/**
 * JSON Lines export: one record per line, in seq order, each line the record's canonical JSON.
 * An export is self-contained evidence: an auditor verifies a copy with `modelship audit verify
 * --file`, or with a few lines of any language (sha256 over the canonical JSON of each record
 * without its `hash`, compared with `hash`, and `prevHash` compared with the line before).
 */

import { once } from 'node:events';
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import type { Writable } from 'node:stream';
import { canonicalJson } from './canonical.ts';
import { ChainVerifier, type VerifyOptions, type VerifyResult } from './chain.ts';
import { type AuditRecord, auditRecordSchema, describeIssues } from './record.ts';
import { type AuditStore, AuditStoreError } from './store.ts';

/** Writes every record of `store` to `out` as JSON Lines; resolves to the number written. */
export async function exportJsonl(store: AuditStore, out: Writable): Promise<number> {
  let count = 0;
  for await (const record of store.all()) {
    // Honour backpressure: a long log piped into a slow consumer must not pile up in memory.
    if (!out.write(`${canonicalJson(record)}\n`)) await once(out, 'drain');
    count += 1;
  }
  return count;
}

/** One non-empty line of a JSONL file, parsed, with its 1-based line number. */
interface JsonLine {
  line: number;
  value?: unknown;
  error?: string;
}

async function* readJsonLines(path: string): AsyncGenerator<JsonLine> {
  const lines = createInterface({
    input: createReadStream(path, 'utf8'),
    crlfDelay: Number.POSITIVE_INFINITY,
  });
  let line = 0;
  for await (const text of lines) {
    line += 1;
    if (text.trim() === '') continue;
    try {
      yield { line, value: JSON.parse(text) as unknown };
    } catch (error) {
      yield { line, error: (error as Error).message };
    }
  }
}

/**
 * Verifies the chain in a JSONL export, streaming, so a copy taken off the machine can be
 * checked without the database. A line that is not JSON fails like a bad record would.
 */
export async function verifyJsonlFile(path: string, options: VerifyOptions = {}): Promise<VerifyResult> {
  const verifier = new ChainVerifier(options);
  for await (const { line, value, error } of readJsonLines(path)) {
    const failure =
      error !== undefined
        ? verifier.reject(`record ${verifier.expectedSeq} (line ${line}): not valid JSON (${error})`)
        : verifier.add(value, `line ${line}`);
    if (failure !== undefined) break;
  }
  return verifier.result();
}

/** Reads the records of a JSONL export (for display); throws naming the first malformed line. */
export async function readJsonlRecords(path: string): Promise<AuditRecord[]> {
  const records: AuditRecord[] = [];
  for await (const { line, value, error } of readJsonLines(path)) {
    if (error !== undefined) throw new AuditStoreError(`${path}:${line}: not valid JSON (${error})`);
    const parsed = auditRecordSchema.safeParse(value);
    if (!parsed.success) {
      throw new AuditStoreError(`${path}:${line}: ${describeIssues(parsed.error).join('; ')}`);
    }
    records.push(parsed.data);
  }
  return records;
}
