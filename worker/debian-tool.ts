/**
 * Server binaries that tests need, taken from Debian's packages without a root install: `apt-get
 * download` fetches the `.deb` and `dpkg-deb -x` unpacks it under `.tools/<name>/`, so only
 * Debian's mirror is asked and nothing is installed system-wide or started as a service. Fit for
 * packages whose binary runs from anywhere (static Go binaries: Prometheus, the distribution
 * registry).
 *
 * Order of search: the override variable (e.g. `$PROMETHEUS_BIN`), the command on `PATH`, then
 * the project's unpacked copy, which is made on first need.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { findOnPath, isExecutable, TOOLS_DIR } from './temporal-cli.ts';

/** One binary shipped in a Debian package. */
export interface DebianTool {
  /** Debian's package name, e.g. `docker-registry`. */
  package: string;
  /** The binary's name on `PATH`, e.g. `docker-registry`. */
  command: string;
  /** The binary's path inside the package, e.g. `usr/bin/docker-registry`. */
  pathInPackage: string;
  /** The variable that names a binary to use instead, e.g. `REGISTRY_BIN`. */
  overrideVariable: string;
}

/** Where the binary was found: the override variable, `PATH`, or the project's `.tools/` copy. */
export interface FoundTool {
  path: string;
  source: string;
}

function toolDir(tool: DebianTool): string {
  return join(TOOLS_DIR, tool.command);
}

function projectBinary(tool: DebianTool): string {
  return join(toolDir(tool), tool.pathInPackage);
}

/** Returns the binary without installing anything, or undefined when none is present. */
export function findDebianTool(
  tool: DebianTool,
  env: NodeJS.ProcessEnv = process.env,
): FoundTool | undefined {
  const explicit = env[tool.overrideVariable];
  if (explicit) {
    if (!isExecutable(explicit)) throw new Error(`${tool.overrideVariable}=${explicit} is not executable`);
    return { path: explicit, source: tool.overrideVariable };
  }
  const onPath = findOnPath(tool.command, env.PATH);
  if (onPath) return { path: onPath, source: 'PATH' };
  const project = projectBinary(tool);
  if (isExecutable(project)) return { path: project, source: 'project' };
  return undefined;
}

function run(command: string, args: string[], cwd: string): { ok: boolean; output: string } {
  const result = spawnSync(command, args, { cwd, encoding: 'utf8' });
  return {
    ok: result.status === 0,
    output: `${result.stdout ?? ''}${result.stderr ?? ''}${result.error?.message ?? ''}`,
  };
}

/** Returns the binary, downloading and unpacking Debian's package into `.tools/<command>` if needed. */
export function ensureDebianTool(tool: DebianTool, env: NodeJS.ProcessEnv = process.env): FoundTool {
  const found = findDebianTool(tool, env);
  if (found) return found;
  const download = join(TOOLS_DIR, `${tool.command}-download`);
  rmSync(download, { recursive: true, force: true });
  mkdirSync(download, { recursive: true });
  let fetched = run('apt-get', ['download', tool.package], download);
  if (!fetched.ok) {
    // A fresh machine may have no package lists yet.
    const update = run('apt-get', ['update', '-qq'], download);
    if (!update.ok) {
      throw new Error(
        `cannot fetch Debian's ${tool.package} package: apt-get update failed: ${update.output.trim()}`,
      );
    }
    fetched = run('apt-get', ['download', tool.package], download);
  }
  const deb = readdirSync(download).find((name) => name.endsWith('.deb'));
  if (!fetched.ok || !deb) {
    throw new Error(
      `cannot fetch Debian's ${tool.package} package (apt-get download ${tool.package}): ${fetched.output.trim()}`,
    );
  }
  const target = toolDir(tool);
  rmSync(target, { recursive: true, force: true });
  const extracted = run('dpkg-deb', ['-x', join(download, deb), target], download);
  rmSync(download, { recursive: true, force: true });
  const binary = projectBinary(tool);
  if (!extracted.ok || !isExecutable(binary)) {
    throw new Error(`cannot unpack ${deb} (no ${tool.pathInPackage} in it?): ${extracted.output.trim()}`);
  }
  return { path: binary, source: 'project' };
}
