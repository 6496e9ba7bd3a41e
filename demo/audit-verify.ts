/**
 * `modelship audit verify` on the demo's audit log, run as the CLI a person would type, in its
 * own process: it recomputes the hash chain from the file alone, with nothing of the demo's
 * process (or its open store) helping it.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../worker/temporal-cli.ts';

export interface CommandRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `modelship audit verify --home <home>`; resolves with its exit code and output. */
export function auditVerify(home: string): Promise<CommandRun> {
  // A PostgreSQL URL in the user's environment would beat --home: the demo's log is the SQLite file.
  const { MODELSHIP_AUDIT_URL: _ignored, ...env } = process.env;
  return new Promise((resolveRun, reject) => {
    const child = spawn(
      process.execPath,
      [join(PROJECT_ROOT, 'bin', 'modelship.mjs'), 'audit', 'verify', '--home', home],
      { env, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
    });
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
    });
    child.on('error', reject);
    child.on('close', (code) => resolveRun({ code, stdout, stderr }));
  });
}
