/**
 * A Debian program a test needs (skopeo, HAProxy): `$<ENV_VAR>` when set, else on PATH, else
 * installed with apt-get when we are root (CI and these machines), else a clear error saying how
 * to get it. `npm test`'s set-up calls these first, so no test installs anything mid-run.
 */
import { spawnSync } from 'node:child_process';
import { findOnPath, isExecutable } from '../../worker/temporal-cli.ts';

export interface AptTool {
  /** The executable's name on PATH. */
  command: string;
  /** Debian's package. */
  packageName: string;
  /** The variable that may point at an executable instead. */
  envVar: string;
  /** What it is for, for messages: "the OCI interoperability test". */
  purpose: string;
}

/** Returns the tool's executable, installing its Debian package first when missing and possible. */
export function ensureAptTool(tool: AptTool, env: NodeJS.ProcessEnv = process.env): string {
  const given = env[tool.envVar];
  if (given) {
    if (!isExecutable(given)) throw new Error(`${tool.envVar}=${given} is not executable`);
    return given;
  }
  const found = findOnPath(tool.command, env.PATH);
  if (found) return found;
  const apt = findOnPath('apt-get', env.PATH);
  if (!apt || process.getuid?.() !== 0) {
    throw new Error(
      `no ${tool.command} for ${tool.purpose}: install it (Debian/Ubuntu: ` +
        `\`sudo apt-get install ${tool.packageName}\`) or point ${tool.envVar} at one`,
    );
  }
  process.stderr.write(`modelship: installing Debian ${tool.packageName} for ${tool.purpose}\n`);
  for (const args of [
    ['update', '-qq'],
    ['install', '-y', '-qq', '--no-install-recommends', tool.packageName],
  ]) {
    const result = spawnSync(apt, args, {
      stdio: ['ignore', 'ignore', 'inherit'],
      env: { ...env, DEBIAN_FRONTEND: 'noninteractive' },
    });
    if (result.status !== 0) {
      throw new Error(`apt-get ${args.join(' ')} failed (exit ${result.status ?? result.signal})`);
    }
  }
  const installed = findOnPath(tool.command, env.PATH);
  if (!installed) throw new Error(`apt-get installed ${tool.packageName} but ${tool.command} is not on PATH`);
  return installed;
}
