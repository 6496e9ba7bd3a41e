/**
 * The client side's connection to Temporal from the config (the CLI's commands, apply, the demo).
 * The worker side's is `native-connection.ts`: importing `@temporalio/worker` costs a process
 * about 0.45 s of CPU (its native core among it), which `modelship approve` or `status` has no
 * use for.
 */
import { Client, Connection } from '@temporalio/client';
import type { ModelshipConfig } from './config.ts';

/** Where Temporal is and how to authenticate, for either side's connection. */
export function connectionOptions(config: ModelshipConfig) {
  return {
    address: config.temporal.address,
    ...(config.temporal.tls ? { tls: true } : {}),
    ...(config.temporal.apiKey ? { apiKey: config.temporal.apiKey } : {}),
  };
}

/** A client for starting and querying workflows; close its `connection` when done. */
export async function connectClient(config: ModelshipConfig): Promise<Client> {
  let connection: Connection;
  try {
    connection = await Connection.connect({ ...connectionOptions(config), connectTimeout: 5_000 });
  } catch (error) {
    throw new Error(
      `cannot reach Temporal at ${config.temporal.address} (${(error as Error).message}); ` +
        'start one with `npm start` or set TEMPORAL_ADDRESS',
    );
  }
  return new Client({ connection, namespace: config.temporal.namespace });
}
