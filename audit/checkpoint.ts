/**
 * A signed checkpoint of the audit chain: "record `seq` had hash `hash`", signed by the writer's
 * Ed25519 key at `time`. One per line of the checkpoint file (`checkpoint-file.ts`).
 *
 * Why: the chain has no secret, so whoever can write the log can cut off its newest records, or
 * rewrite its tail and recompute every hash, and the chain still verifies. A checkpoint is a
 * statement about the chain that such a person cannot make without the key: a log that ends
 * before a checkpoint's seq was truncated, and a log whose record differs from a checkpoint's
 * hash was rewritten. It replaces the hand-kept anchor (`verify --anchor`), which still works.
 *
 * What it does not stop: someone with the key can sign anything (keep it where the worker alone
 * reads it), and someone who can also edit the checkpoint file can delete its newest lines and
 * cut the log back to the last checkpoint left (ship the lines elsewhere as they are written to
 * close that gap). Records after the newest checkpoint are covered by nothing yet.
 *
 * Format: canonical JSON of `{ type, seq, hash, time, keyId, signature }`, where `signature` is
 * the base64 Ed25519 signature over the canonical JSON of the same object without `signature`.
 * `type` names this statement, so the signature cannot be taken for one over anything else.
 */
import { type KeyObject, sign, verify } from 'node:crypto';
import { z } from 'zod';
import { canonicalJson } from './canonical.ts';
import type { ChainAnchor } from './chain.ts';
import { describeIssues } from './record.ts';

/** The `type` of every checkpoint of this format. */
export const CHECKPOINT_TYPE = 'modelship.audit-checkpoint/v1';

const hex64 = z.string().regex(/^[0-9a-f]{64}$/, 'expected 64 lowercase hex characters');

const checkpointSchema = z.strictObject({
  type: z.literal(CHECKPOINT_TYPE).describe('What this line states.'),
  seq: z.int().min(1).describe('The record the checkpoint vouches for.'),
  hash: hex64.describe('That record’s hash when the checkpoint was signed.'),
  time: z.iso.datetime({ offset: true }).describe('When it was signed.'),
  keyId: hex64.describe('SHA-256 of the signing key’s public key PEM (SubjectPublicKeyInfo).'),
  signature: z.base64().min(1).describe('Ed25519 over the canonical JSON of the other members.'),
});

/** One checkpoint as stored. */
export type Checkpoint = z.output<typeof checkpointSchema>;

/** The key a writer signs with (see `checkpoint-key.ts`). */
export interface CheckpointSigner {
  privateKey: KeyObject;
  keyId: string;
}

/** The signed part of a checkpoint, as bytes. */
function payloadOf(checkpoint: Omit<Checkpoint, 'signature'>): Buffer {
  const { type, seq, hash, time, keyId } = checkpoint;
  return Buffer.from(canonicalJson({ type, seq, hash, time, keyId }));
}

/** Signs `{ seq, hash }` of the chain at `time`. */
export function signCheckpoint(head: ChainAnchor, signer: CheckpointSigner, time = new Date()): Checkpoint {
  const unsigned = {
    type: CHECKPOINT_TYPE,
    seq: head.seq,
    hash: head.hash,
    time: time.toISOString(),
    keyId: signer.keyId,
  } as const;
  const signature = sign(null, payloadOf(unsigned), signer.privateKey).toString('base64');
  return { ...unsigned, signature };
}

/** Whether `checkpoint` was signed by `publicKey` exactly as it reads. */
export function signatureMatches(checkpoint: Checkpoint, publicKey: KeyObject): boolean {
  try {
    return verify(null, payloadOf(checkpoint), publicKey, Buffer.from(checkpoint.signature, 'base64'));
  } catch {
    // A key of another type: not a signature this key made.
    return false;
  }
}

/** The checkpoint a parsed line holds, or why it holds none. */
export function parseCheckpoint(value: unknown): { checkpoint: Checkpoint } | { error: string } {
  const parsed = checkpointSchema.safeParse(value);
  return parsed.success ? { checkpoint: parsed.data } : { error: describeIssues(parsed.error).join('; ') };
}

/** The line a checkpoint is stored as (without the newline). */
export function checkpointLine(checkpoint: Checkpoint): string {
  return canonicalJson(checkpoint);
}
