/** The worker side's connection to Temporal from the config; the client side's is `connection.ts`. */
import { NativeConnection } from '@temporalio/worker';
import type { ModelshipConfig } from './config.ts';
import { connectionOptions } from './connection.ts';

/** The worker's native connection. */
export async function connectWorker(config: ModelshipConfig): Promise<NativeConnection> {
  return NativeConnection.connect(connectionOptions(config));
}
