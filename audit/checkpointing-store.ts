/**
 * A writer's audit store that signs checkpoints of the chain as it goes: after every `every`
 * records it appended, and when it is closed (the worker's shutdown), so a clean stop leaves its
 * last record vouched for. Readers (the CLI) never wrap their store in this.
 *
 * A checkpoint names the last record THIS process appended, with the hash it computed itself,
 * never a head read back from the database: signing what the database says would bless a tail
 * that someone had already rewritten there.
 *
 * Writing a checkpoint never fails an append: the record is already committed, and failing the
 * activity would only make Temporal retry it. A checkpoint that cannot be written is a warning,
 * and the next one (or the one at close) covers the same records.
 */
import type { ChainAnchor } from './chain.ts';
import { signCheckpoint } from './checkpoint.ts';
import { appendCheckpoint } from './checkpoint-file.ts';
import type { CheckpointKey } from './checkpoint-key.ts';
import type { AuditEventInput, AuditRecord } from './record.ts';
import { type AuditStore, AuditStoreError } from './store.ts';

/** Records between two checkpoints when no interval is given. */
export const DEFAULT_CHECKPOINT_EVERY = 100;

/** Where and how often a writer signs checkpoints. */
export interface CheckpointSettings {
  /** The checkpoint file (JSON Lines, appended to). */
  path: string;
  key: CheckpointKey;
  /** Records appended between checkpoints; default {@link DEFAULT_CHECKPOINT_EVERY}. */
  every?: number;
}

/** `store`, signing checkpoints of what it appends into `settings.path`. */
export function withCheckpoints(store: AuditStore, settings: CheckpointSettings): AuditStore {
  return new CheckpointingStore(store, settings);
}

class CheckpointingStore implements AuditStore {
  private latest: ChainAnchor | undefined;
  private checkpointedSeq = 0;
  private sinceCheckpoint = 0;
  private writing: Promise<void> = Promise.resolve();
  private readonly pending = new Set<Promise<unknown>>();
  private closing = false;
  private readonly every: number;

  constructor(
    private readonly inner: AuditStore,
    private readonly settings: CheckpointSettings,
  ) {
    this.every = Math.max(1, Math.floor(settings.every ?? DEFAULT_CHECKPOINT_EVERY));
  }

  get location(): string {
    return this.inner.location;
  }

  append(event: AuditEventInput): Promise<AuditRecord> {
    // Refused once closing, so no record can land after the final checkpoint was taken.
    if (this.closing) return Promise.reject(new AuditStoreError(`audit log ${this.location} is closed`));
    const appended = this.appendAndCheckpoint(event);
    this.pending.add(appended);
    void appended.finally(() => this.pending.delete(appended)).catch(() => undefined);
    return appended;
  }

  list: AuditStore['list'] = (filter) => this.inner.list(filter);
  all: AuditStore['all'] = () => this.inner.all();
  head: AuditStore['head'] = () => this.inner.head();
  verify: AuditStore['verify'] = (options) => this.inner.verify(options);

  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    await Promise.allSettled([...this.pending]);
    await this.checkpoint();
    await this.inner.close();
  }

  private async appendAndCheckpoint(event: AuditEventInput): Promise<AuditRecord> {
    const record = await this.inner.append(event);
    // Appends resolve in call order, but keep the highest seq regardless.
    if (!this.latest || record.seq > this.latest.seq) this.latest = { seq: record.seq, hash: record.hash };
    this.sinceCheckpoint += 1;
    if (this.sinceCheckpoint >= this.every) await this.checkpoint();
    return record;
  }

  /** Signs and appends a checkpoint of the latest record unless it already has one. */
  private checkpoint(): Promise<void> {
    // One write at a time, in order, so the file's lines follow the chain.
    this.writing = this.writing.then(async () => {
      const latest = this.latest;
      if (!latest || latest.seq <= this.checkpointedSeq) return;
      this.sinceCheckpoint = 0;
      try {
        await appendCheckpoint(this.settings.path, signCheckpoint(latest, this.settings.key));
        this.checkpointedSeq = latest.seq;
      } catch (error) {
        process.emitWarning(
          `could not write the audit checkpoint of record ${latest.seq} to ${this.settings.path}: ${(error as Error).message}`,
        );
      }
    });
    return this.writing;
  }
}
