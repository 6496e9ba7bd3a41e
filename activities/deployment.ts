/**
 * What every activity input carries to say which deployment it works for. Activities use it for
 * paths and messages; the audit interceptors take the same facts from workflow memo headers.
 */
/** Who made the commit being deployed, as Git records it. */
export interface CommitAuthor {
  name: string;
  email: string;
}

export interface DeploymentRef {
  /** `metadata.name` of the spec. */
  model: string;
  /** `spec.rollout.environment`. */
  environment: string;
  /** Git commit the spec was read at. */
  commit: string;
  /** Path of the spec file relative to the repository root. */
  specPath: string;
  /**
   * Repository checkout on the worker's machine that relative paths in the spec resolve
   * against. The worker reads model files from it; their digests are verified, so a working
   * tree that drifted from `commit` cannot slip other bytes in.
   */
  repoRoot: string;
  /** The commit's author; in production they cannot approve their own change. */
  author?: CommitAuthor;
}
