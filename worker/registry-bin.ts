/**
 * Finding (and, on first need, installing) an OCI registry binary, for the tests of `oci/`:
 * Debian's `docker-registry` package, the CNCF distribution registry (2.8 in Debian 12), a static
 * Go binary. Production points modelship at its environment's own registry; nothing here runs
 * there.
 *
 * Order: `$REGISTRY_BIN`, `docker-registry` on `PATH`, then `.tools/docker-registry/`, filled by
 * `worker/debian-tool.ts`.
 */
import { ensureDebianTool, type FoundTool } from './debian-tool.ts';

const REGISTRY = {
  package: 'docker-registry',
  command: 'docker-registry',
  pathInPackage: 'usr/bin/docker-registry',
  overrideVariable: 'REGISTRY_BIN',
} as const;

/** Returns a registry binary, downloading Debian's package into `.tools/docker-registry` if needed. */
export function ensureRegistry(env: NodeJS.ProcessEnv = process.env): FoundTool {
  return ensureDebianTool(REGISTRY, env);
}
