/**
 * The gates' files port over a commit (`supply-chain/gates/model-files.ts`): the model's
 * directory as committed is copied into a private temporary directory, because the checks read
 * files and the working tree may hold other bytes than the commit. Only regular files are in a
 * commit's tree as `CommitReader` lists it, so a symlink beside the model is absent here (the
 * worker refuses it by what it points at; both refuse it).
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, posix } from 'node:path';
import type { ModelFiles } from '../supply-chain/gates/evaluate.ts';
import type { CommitReader } from './git.ts';

/** The model at repository path `source` (normalised, no scheme) and its directory, at `commit`. */
export function commitModelFiles(reader: CommitReader, commit: string, source: string): ModelFiles {
  const dir = posix.dirname(source);
  const dirLabel = dir === '.' ? '' : dir;
  const prefix = dirLabel === '' ? '' : `${dirLabel}/`;
  return {
    modelSize: () => reader.size(commit, source),
    async open() {
      const scratch = await mkdtemp(join(tmpdir(), 'modelship-plan-model-'));
      try {
        const files = [...(await reader.files(commit))].filter((file) => file.startsWith(prefix));
        for (const file of files) {
          const target = join(scratch, file.slice(prefix.length));
          await mkdir(dirname(target), { recursive: true });
          await writeFile(target, await reader.readBytes(commit, file));
        }
      } catch (error) {
        await rm(scratch, { recursive: true, force: true });
        throw error;
      }
      return {
        modelFile: join(scratch, source.slice(prefix.length)),
        modelDir: scratch,
        dirLabel,
        release: () => rm(scratch, { recursive: true, force: true }),
      };
    },
  };
}
