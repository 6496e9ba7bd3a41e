/**
 * Finding (and, on first need, installing) a Prometheus server binary, for the tests of the
 * monitor's Prometheus counter source. Production points the worker at its own Prometheus
 * (`MODELSHIP_PROMETHEUS_URL`); nothing here runs there.
 *
 * Order: `$PROMETHEUS_BIN`, `prometheus` on `PATH`, then `.tools/prometheus/`, filled from
 * Debian's `prometheus` package with `apt-get download` and `dpkg-deb -x`: no root install, no
 * service started, and only Debian's mirror is asked. The package is a static Go binary.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { findOnPath, isExecutable, TOOLS_DIR } from './temporal-cli.ts';

const PROMETHEUS_DIR = join(TOOLS_DIR, 'prometheus');
const PROJECT_BIN = join(PROMETHEUS_DIR, 'usr', 'bin', 'prometheus');

interface PrometheusBin {
  path: string;
  source: 'PROMETHEUS_BIN' | 'PATH' | 'project';
}

function findPrometheus(env: NodeJS.ProcessEnv = process.env): PrometheusBin | undefined {
  if (env.PROMETHEUS_BIN) {
    if (!isExecutable(env.PROMETHEUS_BIN))
      throw new Error(`PROMETHEUS_BIN=${env.PROMETHEUS_BIN} is not executable`);
    return { path: env.PROMETHEUS_BIN, source: 'PROMETHEUS_BIN' };
  }
  const onPath = findOnPath('prometheus', env.PATH);
  if (onPath) return { path: onPath, source: 'PATH' };
  if (isExecutable(PROJECT_BIN)) return { path: PROJECT_BIN, source: 'project' };
  return undefined;
}

function run(command: string, args: string[], cwd: string): { ok: boolean; output: string } {
  const result = spawnSync(command, args, { cwd, encoding: 'utf8' });
  return {
    ok: result.status === 0,
    output: `${result.stdout ?? ''}${result.stderr ?? ''}${result.error?.message ?? ''}`,
  };
}

/** Returns a Prometheus binary, downloading Debian's package into `.tools/prometheus` if needed. */
export function ensurePrometheus(env: NodeJS.ProcessEnv = process.env): PrometheusBin {
  const found = findPrometheus(env);
  if (found) return found;
  const download = join(TOOLS_DIR, 'prometheus-download');
  rmSync(download, { recursive: true, force: true });
  mkdirSync(download, { recursive: true });
  let fetched = run('apt-get', ['download', 'prometheus'], download);
  if (!fetched.ok) {
    // A fresh machine may have no package lists yet.
    const update = run('apt-get', ['update', '-qq'], download);
    if (!update.ok)
      throw new Error(
        `cannot fetch Debian's prometheus package: apt-get update failed: ${update.output.trim()}`,
      );
    fetched = run('apt-get', ['download', 'prometheus'], download);
  }
  const deb = readdirSync(download).find((name) => name.endsWith('.deb'));
  if (!fetched.ok || !deb) {
    throw new Error(
      `cannot fetch Debian's prometheus package (apt-get download prometheus): ${fetched.output.trim()}`,
    );
  }
  rmSync(PROMETHEUS_DIR, { recursive: true, force: true });
  const extracted = run('dpkg-deb', ['-x', join(download, deb), PROMETHEUS_DIR], download);
  rmSync(download, { recursive: true, force: true });
  if (!extracted.ok || !isExecutable(PROJECT_BIN)) {
    throw new Error(`cannot unpack ${deb}: ${extracted.output.trim()}`);
  }
  return { path: PROJECT_BIN, source: 'project' };
}
