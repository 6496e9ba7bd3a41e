/**
 * Which ModelDeployment specs a change between two commits touches. A file counts as a spec by
 * what its text declares (`kind: ModelDeployment`) at that commit, not by its name, so schemas,
 * policies, bases (`ModelDeploymentBase`) and other YAML next to the specs are never planned or
 * applied on their own. A rename is a removal plus an addition (the plan notes the pair); a spec
 * whose text did not change still counts when the model file, holdout or base it points at
 * changed, since those are part of what it deploys.
 */
import { normalizeRepoPath } from '../specs/locations.ts';
import { type Commit, type CommitReader, type FileChange, GitError, NULL_SHA } from './git.ts';
import { effectiveTextAt, specReferences, specText } from './spec-fields.ts';

/** Why a spec counts as changed: its own text, or a file it points at (its base among them). */
export type ChangeReason = 'spec' | 'model' | 'holdout' | 'base';

/** One spec the change adds, modifies or removes, with its text on each side that has it. */
export type SpecChange =
  | {
      change: 'added';
      path: string;
      headText: string;
      /** Set when git saw this file renamed from another spec path. */
      renamedFrom?: string;
    }
  | {
      change: 'modified';
      path: string;
      baseText: string;
      headText: string;
      /** Non-empty; sorted. `spec` is absent when only a referenced file changed. */
      reasons: ChangeReason[];
      /** The referenced files that changed, repository-relative, sorted. */
      changedFiles: string[];
    }
  | {
      change: 'removed';
      path: string;
      baseText: string;
      /** Set when git saw this file renamed to another spec path. */
      renamedTo?: string;
    };

/** The specs a change touches, and the commits it was computed between. */
export interface SpecChangeSet {
  /** Resolved sha of the base, or `null` for "nothing before" (the null sha). */
  base: Commit;
  head: string;
  specsDir: string;
  /** Sorted by path, then removals before additions. */
  changes: SpecChange[];
}

export interface FindSpecChangesInput {
  reader: CommitReader;
  base: string;
  head: string;
  /** Folder of spec files, repository-relative (default `specs`). */
  specsDir?: string;
}

/** Finds the specs added, modified and removed between `base` and `head`. */
export async function findSpecChanges(input: FindSpecChangesInput): Promise<SpecChangeSet> {
  const { reader } = input;
  const specsDir = normalizeRepoPath(input.specsDir ?? 'specs') ?? 'specs';
  const base = await reader.resolve(input.base);
  const head = await reader.resolve(input.head);
  if (head === null) throw new GitError(`--head cannot be the null sha ${NULL_SHA}`);
  const diff = await reader.diff(base, head);
  const isSpecPath = (path: string) => isSpecFile(path, specsDir);

  const changes: SpecChange[] = [];
  const baseText = (path: string) => (base === null ? undefined : reader.readText(base, path));
  for (const file of diff) {
    if (file.status === 'renamed') {
      const before = isSpecPath(file.from) ? specText(await baseText(file.from)) : undefined;
      const after = isSpecPath(file.path) ? specText(await reader.readText(head, file.path)) : undefined;
      if (before !== undefined) {
        changes.push({
          change: 'removed',
          path: file.from,
          baseText: before,
          ...(after !== undefined ? { renamedTo: file.path } : {}),
        });
      }
      if (after !== undefined) {
        changes.push({
          change: 'added',
          path: file.path,
          headText: after,
          ...(before !== undefined ? { renamedFrom: file.from } : {}),
        });
      }
      continue;
    }
    if (!isSpecPath(file.path)) continue;
    const before = file.status === 'added' ? undefined : specText(await baseText(file.path));
    const after = file.status === 'removed' ? undefined : specText(await reader.readText(head, file.path));
    if (before !== undefined && after !== undefined) {
      changes.push({
        change: 'modified',
        path: file.path,
        baseText: before,
        headText: after,
        reasons: ['spec'],
        changedFiles: [],
      });
    } else if (after !== undefined) {
      changes.push({ change: 'added', path: file.path, headText: after });
    } else if (before !== undefined) {
      changes.push({ change: 'removed', path: file.path, baseText: before });
    }
  }

  if (base !== null) await addReferenceChanges(changes, { reader, head, diff, isSpecPath });
  changes.sort(
    (a, b) => compare(a.path, b.path) || Number(a.change !== 'removed') - Number(b.change !== 'removed'),
  );
  return { base, head, specsDir, changes };
}

/**
 * Marks why each modified spec changed, and adds the specs whose own text did not change but
 * whose model file or holdout did: every spec at head is read for the files it points at.
 */
async function addReferenceChanges(
  changes: SpecChange[],
  context: {
    reader: CommitReader;
    head: string;
    diff: FileChange[];
    isSpecPath: (path: string) => boolean;
  },
): Promise<void> {
  const { reader, head, diff } = context;
  const touched = new Set(
    diff.flatMap((file) => (file.status === 'renamed' ? [file.from, file.path] : [file.path])),
  );
  const listed = new Set(changes.map((change) => change.path));
  const referenced = async (text: string) => {
    // The model and holdout of a spec over a base may be named in the base: read them from the
    // effective spec, and the base itself from the spec's own text.
    const refs = {
      ...specReferences(await effectiveTextAt(reader, head, text)),
      base: specReferences(text).base,
    };
    const changed: { reason: ChangeReason; file: string }[] = [];
    if (refs.model !== undefined && touched.has(refs.model))
      changed.push({ reason: 'model', file: refs.model });
    if (refs.holdout !== undefined && touched.has(refs.holdout))
      changed.push({ reason: 'holdout', file: refs.holdout });
    if (refs.base !== undefined && touched.has(refs.base)) changed.push({ reason: 'base', file: refs.base });
    return changed;
  };

  for (const change of changes) {
    if (change.change !== 'modified') continue;
    const changed = await referenced(change.headText);
    change.reasons = [...change.reasons, ...changed.map(({ reason }) => reason)].sort();
    change.changedFiles = changed.map(({ file }) => file).sort();
  }

  const atHead = [...(await reader.files(head))].filter(
    (path) => context.isSpecPath(path) && !listed.has(path),
  );
  for (const path of atHead.sort()) {
    const headText = specText(await reader.readText(head, path));
    if (headText === undefined) continue;
    const changed = await referenced(headText);
    if (changed.length === 0) continue;
    changes.push({
      change: 'modified',
      path,
      // Not in the diff, so the text at base is the same.
      baseText: headText,
      headText,
      reasons: changed.map(({ reason }) => reason).sort(),
      changedFiles: changed.map(({ file }) => file).sort(),
    });
  }
}

/** Whether `path` could hold a spec: a `.yaml`/`.yml` file anywhere under `specsDir`. */
export function isSpecFile(path: string, specsDir: string): boolean {
  return (specsDir === '' || path.startsWith(`${specsDir}/`)) && /\.ya?ml$/i.test(path);
}

/** Code-point order, the same on every machine (localeCompare is not). */
export function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
