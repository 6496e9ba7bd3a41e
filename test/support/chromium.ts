/**
 * A headless Chromium for the browser tests, driven by `playwright-core`. We use the system's
 * Chromium (Debian's `chromium` package at `/usr/bin/chromium`, or `$CHROMIUM_BIN`) and never
 * let Playwright download a browser build: the package manager is the only source.
 */
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import { findOnPath, isExecutable } from '../../worker/temporal-cli.ts';

const SYSTEM_CHROMIUM = '/usr/bin/chromium';

/** The Chromium executable the browser tests use. */
export function chromiumPath(env: NodeJS.ProcessEnv = process.env): string {
  return env.CHROMIUM_BIN ?? SYSTEM_CHROMIUM;
}

/**
 * Returns the Chromium executable, installing Debian's `chromium` package first when it is missing
 * and we are root with apt-get (about 40 s and 110 MB on a fresh Debian 12); otherwise says how to
 * install it.
 */
export function ensureChromium(env: NodeJS.ProcessEnv = process.env): string {
  const path = chromiumPath(env);
  if (isExecutable(path)) return path;
  if (env.CHROMIUM_BIN) throw new Error(`CHROMIUM_BIN=${env.CHROMIUM_BIN} is not executable`);
  const apt = findOnPath('apt-get', env.PATH);
  if (!apt || process.getuid?.() !== 0) {
    throw new Error(
      `no Chromium at ${SYSTEM_CHROMIUM} for the Web UI browser test: install it (Debian/Ubuntu: ` +
        '`sudo apt-get install chromium`) or point CHROMIUM_BIN at a Chromium or Chrome executable',
    );
  }
  process.stderr.write('modelship: installing Debian chromium for the Web UI browser test\n');
  for (const args of [
    ['update', '-qq'],
    ['install', '-y', '-qq', '--no-install-recommends', 'chromium'],
  ]) {
    const result = spawnSync(apt, args, {
      stdio: ['ignore', 'ignore', 'inherit'],
      env: { ...env, DEBIAN_FRONTEND: 'noninteractive' },
    });
    if (result.status !== 0) {
      throw new Error(`apt-get ${args.join(' ')} failed (exit ${result.status ?? result.signal})`);
    }
  }
  if (!isExecutable(path)) throw new Error(`apt-get installed chromium but ${path} is missing`);
  return path;
}

export interface Browser {
  page: Page;
  context: BrowserContext;
  /** Closes the browser and removes its profile. */
  close(): Promise<void>;
}

/** Launches headless Chromium with a fresh profile and nothing talking to Google. */
export async function launchBrowser(): Promise<Browser> {
  const profile = await mkdtemp(join(tmpdir(), 'modelship-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: chromiumPath(),
    headless: true,
    viewport: { width: 1400, height: 1000 },
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  const page = context.pages()[0] ?? (await context.newPage());
  return {
    page,
    context,
    async close() {
      await context.close();
      await rm(profile, { recursive: true, force: true });
    },
  };
}
