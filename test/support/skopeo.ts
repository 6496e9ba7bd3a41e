/**
 * `skopeo`, a standard OCI client, for the test that what `oci/` pushes is readable by others
 * (and what they write is readable by `oci/`). Debian's package, installed with apt-get when it
 * is missing and we are root (as `chromium.ts` does for Chromium), or `$SKOPEO_BIN`.
 */
import { spawnSync } from 'node:child_process';
import { ensureAptTool } from './apt-tool.ts';

/** Returns the skopeo executable, installing Debian's `skopeo` first when missing and possible. */
export function ensureSkopeo(env: NodeJS.ProcessEnv = process.env): string {
  return ensureAptTool(
    {
      command: 'skopeo',
      packageName: 'skopeo',
      envVar: 'SKOPEO_BIN',
      purpose: 'the OCI interoperability test',
    },
    env,
  );
}

/** Runs skopeo; returns its exit status and output. */
export function skopeo(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(ensureSkopeo(), args, { encoding: 'utf8', timeout: 60_000 });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}
