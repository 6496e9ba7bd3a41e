/**
 * Opening the OCI store an environment is configured with: an OCI image layout directory (the
 * embedded default, under `MODELSHIP_HOME`) or a registry's base URL. Credentials are the
 * caller's to read from its configuration (`MODELSHIP_REGISTRY_USERNAME` / `…_PASSWORD`, or a
 * token) and are passed in; nothing in `oci/` reads the environment.
 */
import { openLayoutStore } from './layout-store.ts';
import type { RegistryCredentials } from './registry-auth.ts';
import { openRegistryStore, type RegistryStoreOptions } from './registry-client.ts';
import type { OciStore } from './store.ts';

/** Where artifacts are kept. */
export type OciStoreConfig =
  | { kind: 'layout' /** The root directory; one layout per repository below it. */; root: string }
  | ({ kind: 'registry'; url: string; credentials?: RegistryCredentials } & Omit<
      RegistryStoreOptions,
      'url' | 'credentials'
    >);

/** Opens the configured store; nothing is read, written or sent until its first operation. */
export function openOciStore(config: OciStoreConfig): OciStore {
  if (config.kind === 'layout') return openLayoutStore({ root: config.root });
  const { kind: _kind, ...options } = config;
  return openRegistryStore(options);
}
