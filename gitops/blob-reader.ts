/**
 * Files at commits read through one long-lived `git cat-file --batch` per repository instead of a
 * `git show` each.
 *
 * `plan`, `apply` and the worker's activities read many small files (every spec, policy and
 * holdout a change touches, often more than once), and a process forked per file costs its
 * parent a copy of its page tables: a few milliseconds from a large process such as a Temporal
 * worker, each time. Over a pipe, a read is a line written and an answer parsed.
 *
 * The process starts on the first read and ends after a short idle time (its stdin closed, so it
 * exits by itself; it also exits with us, as its stdin closes then). While no read is pending
 * it holds no reference on the event loop, so a CLI that has read what it needs exits at once.
 */
import { type ChildProcessByStdio, spawn } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';

/** What `cat-file --batch` answered for one object name. */
export type BatchAnswer =
  | { kind: 'found'; type: string; content: Buffer }
  | { kind: 'missing' }
  | { kind: 'ambiguous' };

interface Waiting {
  resolve: (answer: BatchAnswer) => void;
  reject: (error: Error) => void;
}

/**
 * Whether `name` reaches git intact on a `--batch` line: a newline would end it early, and git
 * drops a carriage return before the newline, so `a.yaml\r` would be read as `a.yaml`, another
 * file. Trailing spaces and tabs are kept.
 */
export function batchCarries(name: string): boolean {
  return !/[\r\n]/.test(name);
}

/** How long an idle `cat-file` process is kept for the next read. */
const DEFAULT_IDLE_MS = 2000;

export class BatchBlobReader {
  private session: BatchSession | undefined;
  private idleTimer: NodeJS.Timeout | undefined;

  constructor(
    /** The work tree or bare repository `git` runs in. */
    private readonly cwd: string,
    private readonly idleMs = DEFAULT_IDLE_MS,
  ) {}

  /**
   * The object `name` names (`<commit>:<path>`, a sha, ...). Rejects names `--batch` cannot
   * carry (see {@link batchCarries}), and when git cannot start or dies mid-answer.
   */
  read(name: string): Promise<BatchAnswer> {
    if (!batchCarries(name)) {
      return Promise.reject(new Error('an object name with a line break cannot be read in a batch'));
    }
    clearTimeout(this.idleTimer);
    if (!this.session?.alive) {
      this.session = new BatchSession(this.cwd, () => {
        // Idle: end the process after a while unless another read comes first.
        this.idleTimer = setTimeout(() => this.close(), this.idleMs);
        this.idleTimer.unref();
      });
    }
    return this.session.read(name);
  }

  /** Ends the process (once its pending reads are answered); reads after this start a new one. */
  close(): void {
    clearTimeout(this.idleTimer);
    this.session?.end();
    this.session = undefined;
  }
}

/** One `git cat-file --batch` process, its reads in the order written, and the answer being parsed. */
class BatchSession {
  alive = true;
  private readonly child: ChildProcessByStdio<Writable, Readable, Readable>;
  private readonly waiting: Waiting[] = [];
  /** Bytes of the answer being parsed: its header line, or its body once the header is read. */
  private chunks: Buffer[] = [];
  private buffered = 0;
  /** The body's length plus its trailing newline, once the current answer's header is read. */
  private bodyBytes: number | undefined;
  private bodyType = '';
  private stderr = '';

  constructor(
    private readonly cwd: string,
    private readonly onIdle: () => void,
  ) {
    this.child = spawn('git', ['cat-file', '--batch'], { cwd, stdio: ['pipe', 'pipe', 'pipe'] });
    this.child.stdout.on('data', (chunk: Buffer) => this.received(chunk));
    this.child.stderr.on('data', (chunk: Buffer) => {
      this.stderr = (this.stderr + chunk.toString()).slice(-2000);
    });
    // EPIPE when git died: 'close' below reports it.
    this.child.stdin.on('error', () => undefined);
    this.child.on('error', (error) => this.ended(error.message));
    // 'close', not 'exit': every answer git wrote has been read by then.
    this.child.on('close', (code, signal) => this.ended(`exited with ${code ?? signal}`));
  }

  read(name: string): Promise<BatchAnswer> {
    return new Promise<BatchAnswer>((resolve, reject) => {
      this.waiting.push({ resolve, reject });
      this.hold(true);
      this.child.stdin.write(`${name}\n`);
    });
  }

  /** Closes git's input: it answers what it was asked, then exits. */
  end(): void {
    this.alive = false;
    this.child.stdin.end();
  }

  private ended(reason: string): void {
    this.alive = false;
    const detail = this.stderr.trim().split('\n')[0] || reason;
    this.failAll(new Error(`git cat-file --batch in ${this.cwd}: ${detail}`));
  }

  private received(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    while (this.alive || this.waiting.length > 0) {
      if (this.bodyBytes === undefined) {
        const data = this.joined();
        const newline = data.indexOf(0x0a);
        if (newline === -1) return;
        this.keep(data.subarray(newline + 1));
        if (!this.header(data.subarray(0, newline).toString('utf8'))) return;
        continue;
      }
      if (this.buffered < this.bodyBytes) return;
      const data = this.joined();
      const content = Buffer.from(data.subarray(0, this.bodyBytes - 1));
      this.keep(data.subarray(this.bodyBytes));
      this.bodyBytes = undefined;
      this.answer({ kind: 'found', type: this.bodyType, content });
    }
  }

  /** `<oid> <type> <size>`, `<name> missing` or `<name> ambiguous`; false when unreadable. */
  private header(line: string): boolean {
    if (line.endsWith(' missing')) {
      this.answer({ kind: 'missing' });
      return true;
    }
    if (line.endsWith(' ambiguous')) {
      this.answer({ kind: 'ambiguous' });
      return true;
    }
    const [, type = '', size = ''] = line.split(' ');
    if (!/^\d+$/.test(size)) {
      // Out of step with the reads: nothing after this can be matched to its read.
      this.alive = false;
      this.failAll(new Error(`git cat-file --batch answered an unreadable header: ${line.slice(0, 200)}`));
      this.child.kill();
      return false;
    }
    this.bodyType = type;
    this.bodyBytes = Number(size) + 1;
    return true;
  }

  private answer(answer: BatchAnswer): void {
    this.waiting.shift()?.resolve(answer);
    if (this.waiting.length > 0) return;
    this.hold(false);
    if (this.alive) this.onIdle();
  }

  private failAll(error: Error): void {
    for (const waiting of this.waiting.splice(0)) waiting.reject(error);
    this.hold(false);
  }

  private joined(): Buffer {
    if (this.chunks.length !== 1) this.chunks = [Buffer.concat(this.chunks, this.buffered)];
    return this.chunks[0] ?? Buffer.alloc(0);
  }

  private keep(rest: Buffer): void {
    this.chunks = rest.length > 0 ? [rest] : [];
    this.buffered = rest.length;
  }

  /** Keeps the event loop alive while a read is pending, and only then. */
  private hold(pending: boolean): void {
    const { child } = this;
    for (const handle of [child, child.stdin, child.stdout, child.stderr] as {
      ref(): void;
      unref(): void;
    }[]) {
      if (pending) handle.ref();
      else handle.unref();
    }
  }
}
