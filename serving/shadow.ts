/**
 * Shadow traffic: a copy of a request stable answered is run against the shadow version after the
 * response has been sent, and the shadow's predicted classes are compared with stable's, row by
 * row. The shadow's answer is never returned. The queue is bounded: when the shadow falls behind,
 * new copies are dropped and counted instead of piling up memory or delaying real traffic.
 *
 * A queued copy holds its version (in-flight count), so a shadow that is cleared and unloaded
 * finishes the copies already queued before its session is released.
 */
import type { Tensor } from 'onnxruntime-node';
import type { ModelVersion } from './model-version.ts';

interface ShadowJob {
  version: ModelVersion;
  feeds: Record<string, Tensor>;
  stableClasses: ArrayLike<unknown>;
}

const sameClass = (a: unknown, b: unknown) =>
  a === b || (typeof a !== 'string' && typeof b !== 'string' && Number(a) === Number(b));

/** Compares per row; returns the agreeing rows, or -1 when the outputs cannot be compared. */
function agreeingRows(stable: ArrayLike<unknown>, shadow: ArrayLike<unknown>): number {
  if (stable.length !== shadow.length) return -1;
  let agreed = 0;
  for (let i = 0; i < stable.length; i += 1) if (sameClass(stable[i], shadow[i])) agreed += 1;
  return agreed;
}

/** A bounded FIFO of shadow copies, run one at a time off the request path. */
export class ShadowQueue {
  private jobs: ShadowJob[] = [];
  private head = 0;
  private scheduled = false;
  private closed = false;
  private idle: Promise<void> = Promise.resolve();

  constructor(private readonly capacity: number) {}

  /** Copies waiting to run. */
  get size(): number {
    return this.jobs.length - this.head;
  }

  /**
   * Queues a copy of a request for `version`, or drops it (counted on the shadow version) when the
   * queue is full. `feeds` are shared with the stable run: tensors are never written after
   * creation, so no copy is needed.
   */
  offer(version: ModelVersion, feeds: Record<string, Tensor>, stableClasses: ArrayLike<unknown>): void {
    if (this.closed || !version.acquire()) return;
    if (this.size >= this.capacity) {
      version.metrics.shadowDropped += 1;
      version.done();
      return;
    }
    this.jobs.push({ version, feeds, stableClasses });
    if (!this.scheduled) {
      this.scheduled = true;
      // setImmediate: the response that produced this copy is flushed before the shadow runs.
      this.idle = new Promise((resolve) => setImmediate(() => this.pump().finally(resolve)));
    }
  }

  private async pump(): Promise<void> {
    try {
      while (this.size > 0 && !this.closed) {
        const job = this.jobs[this.head] as ShadowJob;
        this.head += 1;
        if (this.head === this.jobs.length) {
          this.jobs = [];
          this.head = 0;
        }
        await this.run(job);
      }
    } finally {
      this.scheduled = false;
    }
  }

  private async run({ version, feeds, stableClasses }: ShadowJob): Promise<void> {
    const metrics = version.metrics;
    try {
      const results = await version.session.run(feeds, [version.classOutput]);
      const agreed = agreeingRows(stableClasses, results[version.classOutput]?.data ?? []);
      if (agreed < 0) {
        metrics.shadowErrors += 1;
      } else {
        metrics.shadowCompared += stableClasses.length;
        metrics.shadowAgreed += agreed;
      }
    } catch {
      // A shadow that fails (for instance, a different interface) is counted, never surfaced.
      metrics.shadowErrors += 1;
    } finally {
      version.done();
    }
  }

  /** Drops the copies still queued (releasing their versions) and waits for the one running. */
  async close(): Promise<void> {
    this.closed = true;
    for (let i = this.head; i < this.jobs.length; i += 1) this.jobs[i]?.version.done();
    this.jobs = [];
    this.head = 0;
    await this.idle;
  }
}
