/**
 * `modelship serve`'s feedback options: the secret prediction ids are signed with and the token
 * the feedback endpoint requires, read from files (like the admin token: files are what compose
 * secrets and Kubernetes secret volumes give a process).
 *
 * The prediction id secret, first found wins:
 * 1. `--prediction-key-file FILE`: one secret per line (blank lines and `#` comments skipped);
 *    the first signs, every one verifies, so a new secret goes first and the old one stays below
 *    it until the ids it signed are past the feedback's maximum age. Give every replica the same
 *    file.
 * 2. The admin token: every replica of a fleet already shares it, so their ids verify on each
 *    other with nothing more to configure. Changing the token makes earlier ids unknown.
 * 3. With a feedback token but no admin token (`--insecure-admin`, local use):
 *    `<MODELSHIP_HOME>/keys/prediction-id.key`, created once (mode 0600), so the ids of a single
 *    process survive its restarts.
 * 4. Otherwise a random secret per process: nothing on disk, and no process can redeem its ids
 *    anyway while feedback is off.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { FeedbackServerOptions } from '../serving/feedback.ts';
import { CliError } from './command.ts';

/** The flags this module reads, parsed. */
export interface FeedbackFlags {
  predictionKeyFile: string | undefined;
  feedbackTokenFile: string | undefined;
  feedbackMaxAgeMs: number | undefined;
  feedbackReplayWindow: number | undefined;
}

async function readSecretFile(file: string, what: string): Promise<string[]> {
  const text = await readFile(file, 'utf8').catch((error: unknown) => {
    throw new CliError(`serve: cannot read the ${what} file: ${(error as Error).message}`);
  });
  const lines = text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
  if (lines.length === 0) throw new CliError(`serve: the ${what} file ${file} is empty`);
  return lines;
}

/** The home key file's secret, created on first use. */
async function homeSecret(home: string): Promise<string> {
  const file = join(home, 'keys', 'prediction-id.key');
  const existing = await readFile(file, 'utf8').catch(() => undefined);
  if (existing?.trim()) return existing.trim();
  await mkdir(dirname(file), { recursive: true, mode: 0o700 });
  const secret = randomBytes(32).toString('base64url');
  try {
    await writeFile(file, `${secret}\n`, { mode: 0o600, flag: 'wx' });
    return secret;
  } catch (error) {
    // Another process created it meanwhile: use theirs.
    const theirs = (error as NodeJS.ErrnoException).code === 'EEXIST' ? await readFile(file, 'utf8') : '';
    if (theirs.trim()) return theirs.trim();
    throw new CliError(
      `serve: cannot create ${file} (${(error as Error).message}); give --prediction-key-file`,
    );
  }
}

/** The server options the flags and defaults give. */
export async function feedbackOptions(
  flags: FeedbackFlags,
  adminToken: string | undefined,
  home: string,
): Promise<FeedbackServerOptions> {
  const options: FeedbackServerOptions = {};
  if (flags.predictionKeyFile !== undefined)
    options.predictionIdSecrets = await readSecretFile(flags.predictionKeyFile, 'prediction key');
  else if (adminToken === undefined && flags.feedbackTokenFile !== undefined)
    options.predictionIdSecrets = [await homeSecret(home)];
  if (flags.feedbackTokenFile !== undefined) {
    const lines = await readSecretFile(flags.feedbackTokenFile, 'feedback token');
    if (lines.length > 1)
      throw new CliError(
        `serve: the feedback token file ${flags.feedbackTokenFile} holds more than one line`,
      );
    options.feedbackToken = lines[0] as string;
  }
  if (flags.feedbackMaxAgeMs !== undefined) options.feedbackMaxAgeMs = flags.feedbackMaxAgeMs;
  if (flags.feedbackReplayWindow !== undefined) options.feedbackReplayWindow = flags.feedbackReplayWindow;
  return options;
}
