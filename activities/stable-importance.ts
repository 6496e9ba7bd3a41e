/**
 * Where validation finds the manifest of the version a candidate would replace, to compare their
 * feature importances (`importanceShift`, `model/report/importance.ts`). A small port with two
 * implementations, chosen by the worker's data-plane mode like the data-plane activities:
 *
 * - admin: the data plane's admin API names the stable version and its bundle digest, and the
 *   bundle is read from `<home>/bundles/<digest>/manifest.json`, where the package step left it
 *   (admin mode already relies on that directory being shared: the data plane loads from it);
 * - fleet: the environment's desired state names the stable version by the OCI digest its bundle
 *   was pushed under, and only the manifest's layer is fetched from the environment's store (not
 *   the model), capped at {@link MAX_MANIFEST_BYTES}.
 *
 * The comparison is reported, never judged, so every problem here becomes a sentence in the
 * report (`shiftUnavailable`) and never fails validation: a data plane that cannot be asked, a
 * bundle packaged on another machine, a manifest from before importance existed.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DesiredStateStore } from '../desired-state/store.ts';
import { bundleRepository, MANIFEST_FILE } from '../domain/bundle-format.ts';
import type { DeploymentRef } from '../domain/deployment.ts';
import { parseImageManifest } from '../oci/descriptor.ts';
import { isDigest } from '../oci/digest.ts';
import type { BundleStores } from '../oci/environment-stores.ts';
import { AdminApiError, type AdminClient } from '../serving/admin-client.ts';

/** The largest bundle manifest fetched for a comparison. */
export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;

/** The stable version of a deployment's model, with its bundle's manifest as decoded JSON. */
export interface StableManifest {
  version: string;
  bundleDigest: string;
  manifest: unknown;
}

export interface StableManifests {
  /** For messages: `admin API` or `desired state`. */
  name: string;
  /** The stable's manifest; undefined when the model has no stable version yet. Throws when it cannot tell. */
  read(deployment: DeploymentRef): Promise<StableManifest | undefined>;
}

const BUNDLE_DIGEST = /^[0-9a-f]{64}$/;
const TITLE = 'org.opencontainers.image.title';

/** The stable from the admin API, its manifest from the shared bundles directory. */
export function adminStableManifests(deps: { admin: AdminClient; bundlesDir: string }): StableManifests {
  return {
    name: 'admin API',
    async read(deployment) {
      const state = await deps.admin.state({ model: deployment.model }).catch((error: unknown) => {
        // A model the data plane has never served has no stable to compare with.
        if (error instanceof AdminApiError && error.status === 404) return undefined;
        throw error;
      });
      if (!state?.stable) return undefined;
      const { version, bundleDigest } = state.stable;
      // The digest names a directory: never let an answer walk out of the bundles directory.
      if (!BUNDLE_DIGEST.test(bundleDigest))
        throw new Error(`the admin API names bundle ${JSON.stringify(bundleDigest)}`);
      const text = await readFile(join(deps.bundlesDir, bundleDigest, MANIFEST_FILE), 'utf8');
      return { version, bundleDigest, manifest: JSON.parse(text) };
    },
  };
}

/** The stable from the environment's desired state, its manifest layer from the environment's OCI store. */
export function fleetStableManifests(deps: {
  desired: DesiredStateStore;
  stores: BundleStores;
}): StableManifests {
  return {
    name: 'desired state',
    async read(deployment) {
      const { model, environment } = deployment;
      const stable = (await deps.desired.read(environment)).models[model]?.stable;
      if (!stable) return undefined;
      const { store } = deps.stores.storeFor(environment);
      const repository = bundleRepository(model);
      const what = `${repository}@${stable.bundle}`;
      if (!isDigest(stable.bundle))
        throw new Error(`the desired state names bundle ${JSON.stringify(stable.bundle)}`);
      const fetched = await store.fetchManifest(repository, { digest: stable.bundle });
      const image = parseImageManifest(fetched.bytes, what);
      const layer = image.layers.find((entry) => entry.annotations?.[TITLE] === MANIFEST_FILE);
      if (!layer) throw new Error(`${what} has no ${MANIFEST_FILE} layer`);
      const dir = await mkdtemp(join(tmpdir(), 'modelship-stable-'));
      try {
        const path = join(dir, MANIFEST_FILE);
        await store.fetchBlob(repository, layer.digest, path, {
          maxBytes: MAX_MANIFEST_BYTES,
          expectedSize: layer.size,
        });
        const manifest: unknown = JSON.parse(await readFile(path, 'utf8'));
        const bundleDigest = image.annotations?.['vnd.modelship.bundle.digest'] ?? '';
        return { version: stable.version, bundleDigest, manifest };
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    },
  };
}
