/**
 * The one LISTEN connection of a PostgreSQL desired-state store, kept alive across drops.
 *
 * A pooled connection cannot listen (the pool hands it to others), so this is a client of its
 * own. When the server ends it (a restart, a failover, `pg_terminate_backend`, a network cut
 * that TCP keepalive detects) it reconnects with growing delays (100 ms up to 5 s) and says so
 * through `connected`, after which the store reads every watched environment again: a change
 * committed while nobody listened sends no second notification, so only that read finds it.
 */
import pg from 'pg';
import { DesiredStateError } from './errors.ts';

const FIRST_RETRY_MS = 100;
const LAST_RETRY_MS = 5_000;

/** What the listener tells its store. */
export interface ListenerEvents {
  /** A notification's payload (`<environment>:<generation>`). */
  notify(payload: string): void;
  /** Listening (again): whatever happened meanwhile was not notified. */
  connected(): void;
  /** A connection failed or dropped; it is being retried. */
  error(error: Error): void;
}

/** Where and what to listen to. */
export interface ListenerConfig {
  url: string;
  /** The server, for messages (`describePostgresUrl`). */
  where: string;
  channel: string;
  connectTimeoutMs: number;
}

/** LISTEN on one channel, reconnecting until closed. */
export class PgListener {
  private client: pg.Client | undefined;
  private retry: NodeJS.Timeout | undefined;
  private delayMs = FIRST_RETRY_MS;
  private closed = false;

  constructor(
    private readonly config: ListenerConfig,
    private readonly events: ListenerEvents,
  ) {}

  /** Connects and listens; resolves after the first attempt, failed or not (retries go on). */
  start(): Promise<void> {
    return this.connect();
  }

  /** Stops listening for good. */
  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.retry);
    const client = this.client;
    this.client = undefined;
    await client?.end().catch(() => undefined);
  }

  private async connect(): Promise<void> {
    if (this.closed) return;
    const { channel } = this.config;
    const client = new pg.Client({
      connectionString: this.config.url,
      connectionTimeoutMillis: this.config.connectTimeoutMs,
      // Without keepalive a silently dead peer (a cut cable, a dropped NAT entry) would leave
      // this socket waiting forever; the store's poll still catches changes meanwhile.
      keepAlive: true,
      application_name: 'modelship-desired-state-listen',
    });
    client.on('notification', (message) => {
      if (client === this.client && message.channel === channel) this.events.notify(message.payload ?? '');
    });
    client.on('error', (error: Error) => this.dropped(client, error));
    client.on('end', () => this.dropped(client, undefined));
    this.client = client;
    try {
      await client.connect();
      await client.query(`LISTEN "${channel}"`);
    } catch (error) {
      this.dropped(client, error as Error);
      return;
    }
    if (client !== this.client) return;
    this.delayMs = FIRST_RETRY_MS;
    this.events.connected();
  }

  private dropped(client: pg.Client, error: Error | undefined): void {
    // Each connection is handled once ('error' is followed by 'end'), and a replaced one not at all.
    if (client !== this.client) return;
    this.client = undefined;
    client.end().catch(() => undefined);
    if (this.closed) return;
    const why = error?.message || 'the server closed the connection';
    this.events.error(
      new DesiredStateError(
        `listening for desired-state changes on ${this.config.where}: ${why}; reconnecting in ${this.delayMs} ms`,
        { cause: error },
      ),
    );
    this.retry = setTimeout(() => {
      this.retry = undefined;
      void this.connect();
    }, this.delayMs);
    this.retry.unref();
    this.delayMs = Math.min(this.delayMs * 2, LAST_RETRY_MS);
  }
}
