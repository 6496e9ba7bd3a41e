/** Scanning every text file under a directory (a bundle, a model folder) for secrets. */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { SecretFinding } from './finding.ts';
import { scanTextsForSecrets } from './scan-text.ts';
import { decodeTextFile } from './text-file.ts';

/** The files under a directory, split into texts (to scan) and the rest. */
export interface DirectoryTexts {
  /** Text files, paths relative to the directory with `/` separators, sorted. */
  texts: { path: string; text: string }[];
  /** Binary files, symbolic links and other non-regular entries: relative paths, not scanned. */
  skipped: string[];
}

/**
 * Walks `dir` depth-first in name order. Symbolic links are listed as skipped and never
 * followed: a link could lead the scan out of the bundle, or around in a loop.
 */
export async function collectTextFiles(dir: string): Promise<DirectoryTexts> {
  const collected: DirectoryTexts = { texts: [], skipped: [] };
  async function walk(relative: string): Promise<void> {
    const entries = await readdir(join(dir, relative), { withFileTypes: true });
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const entry of entries) {
      const path = relative === '' ? entry.name : `${relative}/${entry.name}`;
      if (entry.isDirectory()) {
        await walk(path);
      } else if (entry.isFile()) {
        const text = decodeTextFile(await readFile(join(dir, path)));
        if (text === undefined) collected.skipped.push(path);
        else collected.texts.push({ path, text });
      } else {
        collected.skipped.push(path);
      }
    }
  }
  await walk('');
  return collected;
}

/** Scans every text file under `dir`; finding paths are relative to `dir`. Binaries are skipped. */
export async function scanDirectoryForSecrets(dir: string): Promise<SecretFinding[]> {
  const { texts } = await collectTextFiles(dir);
  return scanTextsForSecrets(texts);
}
