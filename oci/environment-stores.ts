/**
 * Each environment's OCI store, from the registry settings the worker and `modelship serve` share
 * (`MODELSHIP_REGISTRY_URLS`, `MODELSHIP_REGISTRY_URL`, credentials): the environment's registry,
 * or with none configured the embedded OCI image layout under `<home>/oci`, which only processes
 * on the same machine can read (`npm start`).
 */
import { join } from 'node:path';
import { openOciStore } from './open.ts';
import type { RegistryCredentials } from './registry-auth.ts';
import type { OciStore } from './store.ts';

/** The registries bundles are pushed to, per environment (`config.registry`). */
export interface RegistrySettings {
  url?: string;
  urls: Record<string, string>;
  credentials?: RegistryCredentials;
}

/** Each environment's store, opened once per worker. */
export interface BundleStores {
  storeFor(environment: string): { store: OciStore; host?: string };
}

/** Opens each environment's store on first use, one per registry URL (or the layout). */
export function bundleStores(options: { home: string; registry?: RegistrySettings }): BundleStores {
  const opened = new Map<string, { store: OciStore; host?: string }>();
  const layout = () => ({ store: openOciStore({ kind: 'layout', root: join(options.home, 'oci') }) });
  return {
    storeFor(environment) {
      const url = options.registry?.urls[environment] ?? options.registry?.url;
      const key = url ?? '';
      let entry = opened.get(key);
      if (!entry) {
        entry = url
          ? {
              store: openOciStore({
                kind: 'registry',
                url,
                ...(options.registry?.credentials ? { credentials: options.registry.credentials } : {}),
              }),
              host: new URL(url).host,
            }
          : layout();
        opened.set(key, entry);
      }
      return entry;
    },
  };
}
