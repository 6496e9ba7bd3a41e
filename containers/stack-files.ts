/**
 * The files compose.yaml mounts from `$MODELSHIP_STACK_DIR`: the secrets (the workers' evidence
 * signing key, its public half the replicas verify bundles with, the replicas' admin token, the
 * token labels are fed back with, `POST /v2/models/{m}/feedback`) and
 * the HAProxy and Prometheus configuration. Secrets are made once and kept across restarts (a new
 * evidence key would make the replicas refuse every bundle signed before it); the configuration
 * is rewritten at every start, so it always names the ports of this start.
 */
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { generateSigningKeyPair } from '../supply-chain/signing/keys.ts';
import { haproxyConfig, prometheusConfig, type StackSettings } from './stack-settings.ts';

export interface StackFiles {
  evidenceKey: string;
  evidencePublicKey: string;
  adminToken: string;
  /** Separate from the admin token: a source of labels must not be able to move traffic. */
  feedbackToken: string;
  haproxyConfig: string;
  prometheusConfig: string;
  /** Whether this call made the secrets (false: they were there from an earlier start). */
  createdSecrets: boolean;
}

/**
 * Writes the stack's files into `settings.dir`. The secrets folder is 0700 so that only the
 * operator reads it on the host; the files in it are 0644 because the containers run as other
 * users (10001 for modelship) and read them through bind mounts, which the folder's mode does not
 * guard.
 */
export async function writeStackFiles(settings: StackSettings): Promise<StackFiles> {
  const secrets = join(settings.dir, 'secrets');
  await mkdir(secrets, { recursive: true, mode: 0o700 });
  await chmod(secrets, 0o700);
  const files = {
    evidenceKey: join(secrets, 'evidence.key'),
    evidencePublicKey: join(secrets, 'evidence.pub'),
    adminToken: join(secrets, 'admin-token'),
    feedbackToken: join(secrets, 'feedback-token'),
    haproxyConfig: join(settings.dir, 'haproxy.cfg'),
    prometheusConfig: join(settings.dir, 'prometheus.yml'),
  };
  const createdSecrets = !(await existingSecrets(files));
  if (createdSecrets) {
    const pair = generateSigningKeyPair();
    await writeFile(files.evidenceKey, pair.privateKeyPem, { mode: 0o644 });
    await writeFile(files.evidencePublicKey, pair.publicKeyPem, { mode: 0o644 });
    await writeFile(files.adminToken, `${randomBytes(32).toString('base64url')}\n`, { mode: 0o644 });
  }
  // Made on its own when missing: stacks set up before feedback existed get one, and nothing signed
  // or issued depends on it.
  const hasFeedbackToken = await readFile(files.feedbackToken).then(
    () => true,
    () => false,
  );
  if (!hasFeedbackToken) {
    await writeFile(files.feedbackToken, `${randomBytes(32).toString('base64url')}\n`, { mode: 0o644 });
  }
  for (const path of [files.evidenceKey, files.evidencePublicKey, files.adminToken, files.feedbackToken])
    await chmod(path, 0o644);
  await writeFile(files.haproxyConfig, haproxyConfig(settings), { mode: 0o644 });
  await writeFile(files.prometheusConfig, prometheusConfig(settings), { mode: 0o644 });
  return { ...files, createdSecrets };
}

/** True when all three secrets exist; an incomplete set is an error, never silently replaced. */
async function existingSecrets(files: {
  evidenceKey: string;
  evidencePublicKey: string;
  adminToken: string;
}) {
  const present = await Promise.all(
    [files.evidenceKey, files.evidencePublicKey, files.adminToken].map((path) =>
      readFile(path).then(
        () => true,
        () => false,
      ),
    ),
  );
  if (present.every(Boolean)) return true;
  if (present.some(Boolean)) {
    throw new Error(
      `${join(files.evidenceKey, '..')} holds only some of evidence.key, evidence.pub and admin-token: ` +
        'restore the missing ones, or remove the folder to make a new set (bundles signed with the old key will then be refused)',
    );
  }
  return false;
}

/** The token the replicas take labels with, for a ground-truth pipeline. */
export async function readFeedbackToken(settings: StackSettings): Promise<string> {
  return (await readFile(join(settings.dir, 'secrets', 'feedback-token'), 'utf8')).trim();
}

/** The admin token the replicas take, for clients of their admin API. */
export async function readAdminToken(settings: StackSettings): Promise<string> {
  return (await readFile(join(settings.dir, 'secrets', 'admin-token'), 'utf8')).trim();
}
