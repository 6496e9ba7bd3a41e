/**
 * `modelship serve --environment E`: the server follows E's desired state as one replica of its
 * data plane (`serving/replica.ts`). What it needs comes from the same configuration the worker
 * reads, so both sides agree without being told twice: the desired-state store
 * (`MODELSHIP_DESIRED_STATE_URL`, else files under `MODELSHIP_HOME`), the environment's OCI store
 * (`MODELSHIP_REGISTRY_URL(S)`, else the layout under `MODELSHIP_HOME/oci`), and the evidence keys
 * it trusts (`--evidence-key`, else the worker's own public key when it is on this machine).
 */
import { readFile, stat } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { desiredStateDirFor, openDesiredStateStore } from '../desired-state/open.ts';
import { bundleStores } from '../oci/environment-stores.ts';
import { startReplica } from '../serving/replica.ts';
import type { ServingServer } from '../serving/server.ts';
import type { ModelshipConfig } from '../worker/config.ts';
import { CliError } from './command.ts';

export interface FollowOptions {
  environment: string;
  /** `--replica-id`; default `<host name>-<port>`. */
  replicaId?: string | undefined;
  /** `--evidence-key` files (PEM public keys). */
  evidenceKeyFiles: readonly string[];
  config: ModelshipConfig;
  log: (line: string) => void;
}

/** This machine's name and the port, as a replica id: lower case, only the characters ids allow. */
export function defaultReplicaId(port: number): string {
  const host = hostname()
    .toLowerCase()
    .replace(/[^a-z0-9._-]+/g, '-')
    .replace(/^[^a-z0-9]+/, '');
  return `${host || 'replica'}-${port}`.slice(0, 128);
}

async function evidenceKeys(
  files: readonly string[],
  home: string,
  log: (line: string) => void,
): Promise<string[]> {
  const read = (file: string) =>
    readFile(file, 'utf8').catch((error: unknown) => {
      throw new CliError(`serve: cannot read the evidence key ${file}: ${(error as Error).message}`);
    });
  if (files.length > 0) return Promise.all(files.map(read));
  const own = join(home, 'keys', 'evidence.pub');
  if (
    await stat(own).then(
      () => true,
      () => false,
    )
  )
    return [await read(own)];
  log(
    'evidence of pulled bundles is NOT checked: no --evidence-key given and no worker key in MODELSHIP_HOME; give the public key the workers sign evidence with',
  );
  return [];
}

/** Starts following; resolves with the function that stops it (before the server closes). */
export async function followDesiredState(
  server: ServingServer,
  options: FollowOptions,
): Promise<() => Promise<void>> {
  const { config, environment, log } = options;
  const desired = await openDesiredStateStore({
    url: config.desiredStateUrl,
    directory: desiredStateDirFor(config.home),
  }).catch((error: unknown) => {
    throw new CliError(`serve: cannot open the desired state: ${(error as Error).message}`);
  });
  const replicaId = options.replicaId ?? defaultReplicaId(server.port);
  const keys = await evidenceKeys(options.evidenceKeyFiles, config.home, log);
  const { store } = bundleStores({ home: config.home, registry: config.registry }).storeFor(environment);
  // Not ready until the desired state is applied once: a restarted replica must not take requests
  // for models it has not loaded yet.
  server.registry.holdReadiness(
    `replica ${replicaId} has not applied the desired state of ${environment} yet`,
  );
  const replica = await startReplica({
    onConverged: () => server.registry.holdReadiness(undefined),
    environment,
    replica: replicaId,
    url: server.url,
    desired,
    store,
    cacheDir: join(config.home, 'replica', environment, 'bundles'),
    registry: server.registry,
    evidenceKeys: keys,
    log,
  }).catch(async (error: unknown) => {
    await desired.close();
    throw new CliError(`serve: cannot follow ${environment}: ${(error as Error).message}`);
  });
  log(
    `replica ${replicaId} follows the desired state of ${environment} (${desired.location}), bundles from ${store.describe()}`,
  );
  return async () => {
    await replica.stop();
    await desired.close();
  };
}
