/**
 * Reading a repository at commits, never its working tree: `plan` and `apply` must judge exactly
 * what was committed, whatever is checked out or lying around uncommitted.
 */
import { type SimpleGit, simpleGit } from 'simple-git';
import { type BatchAnswer, BatchBlobReader, batchCarries } from './blob-reader.ts';

/** What `git diff --name-status` says happened to one path. */
export type FileChange =
  | { status: 'added' | 'modified' | 'removed'; path: string }
  | { status: 'renamed'; from: string; path: string };

/** The all-zero sha GitHub sends as `before` on a branch's first push: "no commit". */
export const NULL_SHA = '0000000000000000000000000000000000000000';

/** A commit resolved to its sha, or `null` for "nothing before" (every file counts as added). */
export type Commit = string | null;

/** A repository or commit that cannot be read: the caller's input to fix, not a bug. */
export class GitError extends Error {
  override name = 'GitError';
}

/** Git errors carry the full command output; the first line is the part a person needs. */
function firstLine(error: unknown): string {
  return ((error as Error).message ?? String(error)).trim().split('\n')[0] ?? '';
}

/** A repository opened at its top level, read through commits only. */
export class CommitReader {
  private readonly trees = new Map<string, Set<string>>();
  // Plans read each spec more than once (change detection, checks, duplicate search); a file at
  // a commit never changes, so its text is read from git once. Model bytes are not kept.
  private readonly texts = new Map<string, Promise<string>>();
  private readonly blobs: BatchBlobReader;

  private constructor(
    /** Absolute top level of the work tree. */
    readonly root: string,
    private readonly git: SimpleGit,
  ) {
    this.blobs = new BatchBlobReader(root);
  }

  /** Opens the repository holding `dir`; rejects with a readable message outside one. */
  static async open(dir: string): Promise<CommitReader> {
    let root: string;
    try {
      root = (await simpleGit(dir).revparse(['--show-toplevel'])).trim();
    } catch {
      throw new GitError(`${dir} is not inside a git repository`);
    }
    return new CommitReader(root, simpleGit(root));
  }

  /**
   * Reads a bare repository (a worker's cache, `GitCheckouts.resolveRef`) through commits, as
   * `open` reads a checkout: every method here names a commit, so no work tree is needed.
   */
  static openGitDir(gitDir: string): CommitReader {
    return new CommitReader(gitDir, simpleGit(gitDir));
  }

  /** Who authored `commit`, as Git records it (four-eyes approvals in production compare with it). */
  async author(commit: string): Promise<{ name: string; email: string }> {
    const [name = '', email = ''] = (await this.git.raw(['log', '-1', '--format=%an%x00%ae', commit, '--']))
      .trim()
      .split('\0');
    return { name, email };
  }

  /**
   * The sha of `ref`; the null sha stands for "no commit" so a first push can be planned
   * against nothing. Rejects naming the ref when it is unknown (e.g. a shallow clone).
   */
  async resolve(ref: string): Promise<Commit> {
    if (ref === NULL_SHA) return null;
    try {
      return (await this.git.revparse(['--verify', '--end-of-options', `${ref}^{commit}`])).trim();
    } catch {
      throw new GitError(`unknown commit "${ref}" in ${this.root} (${await this.unknownRefHint(ref)})`);
    }
  }

  /**
   * What to do about a ref that does not resolve. Only a shallow clone lacks history that exists,
   * so only then is fetching more the answer; `HEAD~1` on a repository's first commit has no
   * commit to name at all, and the null sha is how to say "nothing before".
   */
  private async unknownRefHint(ref: string): Promise<string> {
    const shallow = await this.git
      .revparse(['--is-shallow-repository'])
      .then((answer) => answer.trim() === 'true')
      .catch(() => false);
    if (shallow) {
      return 'this clone is shallow: fetch full history with git fetch --unshallow, or actions/checkout with fetch-depth: 0';
    }
    const parentOf = /^(.+?)(?:~\d*|\^\d*)+$/.exec(ref)?.[1];
    if (parentOf !== undefined) {
      const known = await this.git
        .revparse(['--verify', '--end-of-options', `${parentOf}^{commit}`])
        .then(() => true)
        .catch(() => false);
      if (known) {
        return `${parentOf} has no such ancestor; to plan a first commit against nothing, give the null sha ${NULL_SHA} as base`;
      }
    }
    return 'no such commit, branch or tag in this repository';
  }

  /** Paths changed between two commits; renames are detected so they can be reported as such. */
  async diff(base: Commit, head: string): Promise<FileChange[]> {
    if (base === null) return [...(await this.files(head))].sort().map((path) => ({ status: 'added', path }));
    const out = await this.git.raw(['diff', '--name-status', '-z', '-M', base, head]);
    return parseNameStatus(out);
  }

  /**
   * Regular files (not symlinks, not submodules) in the tree of `commit`, repository-relative.
   * Cached per commit: the spec rules ask about files one at a time, synchronously.
   */
  async files(commit: string): Promise<Set<string>> {
    const cached = this.trees.get(commit);
    if (cached) return cached;
    const out = await this.git.raw(['ls-tree', '-r', '-z', '--full-tree', commit]);
    const files = new Set<string>();
    for (const entry of out.split('\0')) {
      // `<mode> <type> <object>\t<path>`
      const tab = entry.indexOf('\t');
      if (tab === -1) continue;
      const [mode, type] = entry.slice(0, tab).split(' ');
      if (type === 'blob' && (mode === '100644' || mode === '100755')) files.add(entry.slice(tab + 1));
    }
    this.trees.set(commit, files);
    return files;
  }

  /** Size in bytes of `path` at `commit`, read without reading the file. */
  async size(commit: string, path: string): Promise<number> {
    return Number((await this.git.raw(['cat-file', '-s', `${commit}:${path}`])).trim());
  }

  /**
   * The bytes of `path` at `commit`: through the reader's `cat-file --batch` process, or, for a
   * path that cannot travel on its line (a line break in a file name), `git show`.
   */
  async readBytes(commit: string, path: string): Promise<Buffer> {
    const where = `cannot read ${path} at ${commit.slice(0, 12)}`;
    if (!batchCarries(`${commit}:${path}`)) {
      try {
        return await this.git.showBuffer([`${commit}:${path}`]);
      } catch (error) {
        throw new GitError(`${where}: ${firstLine(error)}`);
      }
    }
    let answer: BatchAnswer;
    try {
      answer = await this.blobs.read(`${commit}:${path}`);
    } catch (error) {
      throw new GitError(`${where}: ${firstLine(error)}`);
    }
    if (answer.kind === 'found' && answer.type === 'blob') return answer.content;
    const why =
      answer.kind === 'found'
        ? `it is a ${answer.type}, not a file`
        : answer.kind === 'missing'
          ? 'no such file at that commit'
          : `${commit} names more than one object`;
    throw new GitError(`${where}: ${why}`);
  }

  /** The text of `path` at `commit`, exactly as committed (UTF-8). */
  readText(commit: string, path: string): Promise<string> {
    const key = `${commit}:${path}`;
    let text = this.texts.get(key);
    if (text === undefined) {
      text = this.readBytes(commit, path).then((bytes) => bytes.toString('utf8'));
      this.texts.set(key, text);
    }
    return text;
  }
}

/** Parses `git diff --name-status -z`: `M\0path\0`, `R087\0from\0to\0`. */
export function parseNameStatus(out: string): FileChange[] {
  const fields = out.split('\0');
  const changes: FileChange[] = [];
  for (let i = 0; i < fields.length; ) {
    const code = fields[i++] ?? '';
    if (code === '') continue;
    const letter = code[0];
    if (letter === 'R' || letter === 'C') {
      const from = fields[i++] ?? '';
      const path = fields[i++] ?? '';
      // A copy leaves its source in place: only the new path is news.
      changes.push(letter === 'R' ? { status: 'renamed', from, path } : { status: 'added', path });
      continue;
    }
    const path = fields[i++] ?? '';
    if (letter === 'A') changes.push({ status: 'added', path });
    else if (letter === 'D') changes.push({ status: 'removed', path });
    // M, T (type change) and U all mean: the path exists on both sides with other content.
    else changes.push({ status: 'modified', path });
  }
  return changes;
}
