/**
 * The checkpoint file: JSON Lines, one signed checkpoint per line, only ever appended to
 * (`$MODELSHIP_HOME/audit-checkpoints.jsonl` by default). Each line is self-contained evidence,
 * so the file can be tailed into a log collector or copied off the machine line by line: a
 * copy kept elsewhere is what makes deleting its newest lines detectable.
 */
import { open, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { hasErrorCode } from '../model/files.ts';
import { type Checkpoint, checkpointLine, parseCheckpoint } from './checkpoint.ts';
import { AUDIT_CHECKPOINTS_FILE, AuditStoreError } from './store.ts';

/** The checkpoint file under a MODELSHIP_HOME. */
export function checkpointsPathFor(home: string): string {
  return join(home, AUDIT_CHECKPOINTS_FILE);
}

/** One non-empty line of the file: its checkpoint, or why it holds none. */
export type CheckpointEntry = { line: number } & ({ checkpoint: Checkpoint } | { error: string });

/**
 * Appends one checkpoint and waits until it is on disk. `O_APPEND` keeps concurrent writers'
 * lines whole and never rewrites what is there; the sync makes a checkpoint that was reported
 * written survive a crash, like the record it vouches for.
 */
export async function appendCheckpoint(path: string, checkpoint: Checkpoint): Promise<void> {
  const handle = await open(path, 'a', 0o644);
  try {
    await handle.write(`${checkpointLine(checkpoint)}\n`);
    await handle.datasync();
  } finally {
    await handle.close();
  }
}

/** Every non-empty line of the file, parsed; undefined when there is no file. */
export async function readCheckpoints(path: string): Promise<CheckpointEntry[] | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if (hasErrorCode(error, 'ENOENT')) return undefined;
    throw new AuditStoreError(`cannot read the checkpoint file ${path}: ${(error as Error).message}`);
  }
  const entries: CheckpointEntry[] = [];
  for (const [index, raw] of text.split('\n').entries()) {
    if (raw.trim() === '') continue;
    const line = index + 1;
    let value: unknown;
    try {
      value = JSON.parse(raw) as unknown;
    } catch (error) {
      entries.push({ line, error: `not valid JSON (${(error as Error).message})` });
      continue;
    }
    entries.push({ line, ...parseCheckpoint(value) });
  }
  return entries;
}
