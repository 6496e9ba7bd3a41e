/**
 * The base image every modelship image here is built `FROM`, made from Debian's packages with
 * `mmdebstrap` and `docker import`, because Docker Hub (where `debian:bookworm-slim` lives) cannot
 * be reached from these machines. A user with Docker Hub builds from the public base instead: the
 * Dockerfiles take the base as the `BASE_IMAGE` build argument.
 *
 * The tag names a hash of everything that goes in (suite, packages, mirror), so a run finds the
 * image it built before in Docker's own store and skips the build: the cache is the image store.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { imageExists } from './docker.ts';
import { mustRun, type Progress } from './process.ts';

export interface BaseImageOptions {
  /** Debian suite (default bookworm, Debian 12). */
  suite?: string;
  /** Debian mirror (default http://deb.debian.org/debian). */
  mirror?: string;
  onProgress?: Progress;
}

/**
 * What every image needs at run time: TLS roots, git (workers fetch specs), the C++ runtime
 * (onnxruntime, Node). `minbase` keeps apt, so images built FROM it can add packages.
 */
const PACKAGES = ['ca-certificates', 'git', 'libstdc++6'] as const;

const DEFAULTS = { suite: 'bookworm', mirror: 'http://deb.debian.org/debian' };

/** `modelship/base:<suite>-<hash>`: changes whenever what goes into the image changes. */
export function baseImageTag(options: BaseImageOptions = {}): string {
  const suite = options.suite ?? DEFAULTS.suite;
  const recipe = JSON.stringify({ suite, mirror: options.mirror ?? DEFAULTS.mirror, PACKAGES, v: 1 });
  return `modelship/base:${suite}-${createHash('sha256').update(recipe).digest('hex').slice(0, 12)}`;
}

/** Returns the base image's tag, building it from Debian's packages unless it is already there. */
export async function ensureBaseImage(options: BaseImageOptions = {}): Promise<string> {
  const tag = baseImageTag(options);
  const say = options.onProgress ?? (() => {});
  if (await imageExists(tag)) {
    say(`base image ${tag}: cached`);
    return tag;
  }
  const suite = options.suite ?? DEFAULTS.suite;
  say(`base image ${tag}: building Debian ${suite} (minbase + ${PACKAGES.join(', ')}) with mmdebstrap`);
  const dir = await mkdtemp(join(tmpdir(), 'modelship-base-'));
  try {
    const tarball = join(dir, 'rootfs.tar');
    await mustRun(
      'mmdebstrap',
      [
        '--variant=minbase',
        `--include=${PACKAGES.join(',')}`,
        // Images carry no package lists or docs: they are fetched again by any build that installs.
        '--dpkgopt=path-exclude=/usr/share/doc/*',
        '--dpkgopt=path-exclude=/usr/share/man/*',
        '--dpkgopt=path-exclude=/usr/share/locale/*',
        '--customize-hook=rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*.bin',
        suite,
        tarball,
        options.mirror ?? DEFAULTS.mirror,
      ],
      { onLine: (line) => say(`  mmdebstrap: ${line}`) },
    );
    await mustRun('docker', [
      'import',
      '--change',
      'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
      '--change',
      'CMD ["/bin/bash"]',
      '--message',
      `modelship base: Debian ${suite} minbase + ${PACKAGES.join(' ')}`,
      tarball,
      tag,
    ]);
    say(`base image ${tag}: built`);
    return tag;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
