/**
 * Checkpoints held against the chain, pure: each line's signature against the trusted key, then
 * its `{ seq, hash }` against the record the walk found at that seq.
 *
 * | the checkpoint                            | verdict                                         |
 * | ----------------------------------------- | ----------------------------------------------- |
 * | not a checkpoint, or signed by another key | problem: forged, or checked with the wrong key |
 * | signature does not verify                 | problem: forged or altered                      |
 * | seq within the chain, same hash           | matches                                         |
 * | seq within the chain, other hash          | problem: the log was rewritten                  |
 * | seq beyond a chain that verified          | problem: truncated, `seq - head` records gone   |
 * | seq beyond the break of a broken chain    | warning: not compared (the break is the problem) |
 */
import type { Finding } from './census.ts';
import { type Checkpoint, signatureMatches } from './checkpoint.ts';
import type { CheckpointEntry } from './checkpoint-file.ts';
import type { TrustedKey } from './checkpoint-key.ts';
import { shortHash } from './format.ts';

/** What the walk knows that checkpoints are compared with. */
export interface ChainFacts {
  /** Whether the chain verified to its end. */
  ok: boolean;
  /** Seq of the last record the walk verified. */
  verifiedHead: number;
  /** The hash of each verified record whose seq a checkpoint names. */
  hashes: ReadonlyMap<number, string>;
}

/** What checking the checkpoints found. */
export interface CheckpointVerdict {
  /** Checkpoints whose signature verified and whose record matched. */
  matched: number;
  /** The newest of those (highest seq). */
  newest: Pick<Checkpoint, 'seq' | 'time'> | undefined;
  findings: Finding[];
}

/** Checks every entry of a checkpoint file; see the module comment for the verdicts. */
export function checkCheckpoints(
  entries: readonly CheckpointEntry[],
  trusted: TrustedKey,
  chain: ChainFacts,
): CheckpointVerdict {
  const findings: Finding[] = [];
  let matched = 0;
  let newest: CheckpointVerdict['newest'];
  for (const entry of entries) {
    const where = `checkpoint at line ${entry.line}`;
    if ('error' in entry) {
      findings.push({ level: 'problem', message: `${where} is not a checkpoint: ${entry.error}` });
      continue;
    }
    const { checkpoint } = entry;
    if (checkpoint.keyId !== trusted.keyId) {
      findings.push({
        level: 'problem',
        message: `${where} is signed by key ${shortHash(checkpoint.keyId)}, not by the trusted key ${shortHash(trusted.keyId)}`,
      });
      continue;
    }
    if (!signatureMatches(checkpoint, trusted.publicKey)) {
      findings.push({
        level: 'problem',
        message: `${where}: the signature does not verify (checkpoint forged or altered)`,
      });
      continue;
    }
    const finding = compare(checkpoint, where, chain);
    if (finding) {
      findings.push(finding);
      continue;
    }
    matched += 1;
    if (!newest || checkpoint.seq > newest.seq) newest = { seq: checkpoint.seq, time: checkpoint.time };
  }
  return { matched, newest, findings };
}

function compare(checkpoint: Checkpoint, where: string, chain: ChainFacts): Finding | undefined {
  const { seq, hash, time } = checkpoint;
  if (seq <= chain.verifiedHead) {
    const actual = chain.hashes.get(seq);
    if (actual === hash) return undefined;
    return {
      level: 'problem',
      message:
        `${where}: record ${seq} has hash ${shortHash(actual ?? '')}, but the checkpoint signed at ${time} ` +
        `says ${shortHash(hash)} (the log was rewritten at or before record ${seq})`,
    };
  }
  if (!chain.ok) {
    return {
      level: 'warning',
      message: `${where} (record ${seq}) is past the chain's break, so it was not compared`,
    };
  }
  const missing = seq - chain.verifiedHead;
  return {
    level: 'problem',
    message:
      `${where}: signed at ${time} for record ${seq}, but the log ends at record ${chain.verifiedHead}: ` +
      `${missing} record${missing === 1 ? '' : 's'} missing (truncated)`,
  };
}
