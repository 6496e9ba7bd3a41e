/**
 * `skopeo`, a standard OCI client, for the test that what `oci/` pushes is readable by others
 * (and what they write is readable by `oci/`). Debian's package, installed with apt-get when it
 * is missing and we are root (as `chromium.ts` does for Chromium), or `$SKOPEO_BIN`.
 */
import { spawnSync } from 'node:child_process';
import { findOnPath, isExecutable } from '../../worker/temporal-cli.ts';

/** Returns the skopeo executable, installing Debian's `skopeo` first when missing and possible. */
export function ensureSkopeo(env: NodeJS.ProcessEnv = process.env): string {
  if (env.SKOPEO_BIN) {
    if (!isExecutable(env.SKOPEO_BIN)) throw new Error(`SKOPEO_BIN=${env.SKOPEO_BIN} is not executable`);
    return env.SKOPEO_BIN;
  }
  const found = findOnPath('skopeo', env.PATH);
  if (found) return found;
  const apt = findOnPath('apt-get', env.PATH);
  if (!apt || process.getuid?.() !== 0) {
    throw new Error(
      'no skopeo for the OCI interoperability test: install it (Debian/Ubuntu: ' +
        '`sudo apt-get install skopeo`) or point SKOPEO_BIN at one',
    );
  }
  process.stderr.write('modelship: installing Debian skopeo for the OCI interoperability test\n');
  for (const args of [
    ['update', '-qq'],
    ['install', '-y', '-qq', '--no-install-recommends', 'skopeo'],
  ]) {
    const result = spawnSync(apt, args, {
      stdio: ['ignore', 'ignore', 'inherit'],
      env: { ...env, DEBIAN_FRONTEND: 'noninteractive' },
    });
    if (result.status !== 0) {
      throw new Error(`apt-get ${args.join(' ')} failed (exit ${result.status ?? result.signal})`);
    }
  }
  const installed = findOnPath('skopeo', env.PATH);
  if (!installed) throw new Error('apt-get installed skopeo but it is not on PATH');
  return installed;
}

/** Runs skopeo; returns its exit status and output. */
export function skopeo(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(ensureSkopeo(), args, { encoding: 'utf8', timeout: 60_000 });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}
