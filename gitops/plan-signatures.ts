/**
 * Signature verification at plan time: the model directory as committed at `commit` is copied
 * into a private temporary directory and verified against the keys the environment's policy
 * trusts, so `plan` judges `signatures.required` on what is really signed, before merge, exactly
 * as the scan step will after it. Only repository paths can be checked here; an https:// or
 * file:// model is verified by the worker.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, posix } from 'node:path';
import { normalizeRepoPath } from '../specs/locations.ts';
import { isSignatureFileName, verifyModelSignatures } from '../supply-chain/signing/index.ts';
import type { CommitReader } from './git.ts';

/**
 * The trusted keys with a valid signature over the model directory of `source` at `commit`;
 * undefined when plan cannot tell (a source outside the repository).
 */
export async function verifiedSignersAt(
  reader: CommitReader,
  commit: string,
  source: string,
  trustedKeys: Record<string, string>,
): Promise<string[] | undefined> {
  const path = normalizeRepoPath(source);
  if (path === undefined || /^[a-z][a-z0-9+.-]*:/i.test(source)) return undefined;
  const dir = posix.dirname(path);
  const prefix = dir === '.' ? '' : `${dir}/`;
  const files = [...(await reader.files(commit))].filter((file) => file.startsWith(prefix));
  const inDir = files.map((file) => file.slice(prefix.length));
  if (!inDir.some((file) => !file.includes('/') && isSignatureFileName(file))) return [];
  const scratch = await mkdtemp(join(tmpdir(), 'modelship-plan-signatures-'));
  try {
    for (const relative of inDir) {
      const target = join(scratch, relative);
      await mkdir(dirname(target), { recursive: true });
      await writeFile(target, await reader.readBytes(commit, `${prefix}${relative}`));
    }
    const report = await verifyModelSignatures({ modelDir: scratch, trustedKeys, requiredKeys: [] });
    return report.verifiedKeys;
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}
