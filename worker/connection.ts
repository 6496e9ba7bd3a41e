/** Connections to Temporal from the config: the client side (CLI) and the worker side. */
import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import type { ModelshipConfig } from './config.ts';

function connectionOptions(config: ModelshipConfig) {
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

/** The worker's native connection. */
export async function connectWorker(config: ModelshipConfig): Promise<NativeConnection> {
  return NativeConnection.connect(connectionOptions(config));
}
