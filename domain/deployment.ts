/**
 * Which deployment: a model in an environment. One identity, and the few ways it is written down:
 *
 * - `deploy/<environment>/<model>`: the Temporal workflow id of DeployModel and RetireModel;
 * - `<model>@<environment>`: what people read (CLI lines, audit tables);
 * - the memo entry `deployment` and the header `modelship-audit-context`: what the audit
 *   attributes each record to.
 *
 * Model names and environments are DNS labels (`specs/schema.ts`), so neither `/` nor `@` can
 * occur in them and a workflow id parses back unambiguously.
 *
 * No imports at all: the workflow bundle, the activities, the CLI, gitops and the data plane all
 * read this file.
 */

/** Who made the commit being deployed, as Git records it. */
export interface CommitAuthor {
  name: string;
  email: string;
}

/** A model in an environment: what one workflow id stands for. */
export interface DeploymentKey {
  /** `metadata.name` of the spec. */
  model: string;
  /** `spec.rollout.environment`. */
  environment: string;
}

/**
 * What every activity input carries to say which deployment it works for. Activities use it for
 * paths and messages; the audit interceptors take the same facts from workflow memo headers.
 */
export interface DeploymentRef extends DeploymentKey {
  /** Git commit the spec was read at. */
  commit: string;
  /** Path of the spec file relative to the repository root. */
  specPath: string;
  /**
   * The Git repository the worker fetches `commit` from (an https, ssh or file URL, or a path
   * on the worker's machine); relative paths in the spec resolve against that commit's tree.
   * Never a checkout to read directly: the worker may run on another machine.
   */
  repository: string;
  /** The commit's author; in production they cannot approve their own change. */
  author?: CommitAuthor;
}

/**
 * The repository a deployment's activities fetch from. Runs started before workers fetched from
 * Git carry `repoRoot`, a checkout on the worker's machine, instead of `repository`; a path is a
 * repository Git can fetch from too, so those runs finish on the new worker.
 */
export function repositoryOf(ref: DeploymentRef): string {
  const legacy = (ref as { repoRoot?: unknown }).repoRoot;
  return ref.repository ?? (typeof legacy === 'string' ? legacy : '');
}

const WORKFLOW_ID_PREFIX = 'deploy';

/**
 * The workflow id of a deployment, `deploy/<environment>/<model>`. One DeployModel per model and
 * environment at a time: starting another for the same pair while one runs is refused by
 * Temporal, which is what keeps two rollouts of one model apart. RetireModel runs under the same
 * id, so the latest run of the id says where the deployment stands.
 */
export function deployModelWorkflowId(key: DeploymentKey): string {
  return `${WORKFLOW_ID_PREFIX}/${key.environment}/${key.model}`;
}

/** The deployment a workflow id names; undefined for an id that is not `deploy/<environment>/<model>`. */
export function parseDeployModelWorkflowId(workflowId: string): DeploymentKey | undefined {
  const parts = workflowId.split('/');
  if (parts.length !== 3 || parts[0] !== WORKFLOW_ID_PREFIX) return undefined;
  const [, environment, model] = parts;
  if (!environment || !model) return undefined;
  return { model, environment };
}

/**
 * The workflow id of a deployment's monitor, `monitor/<environment>/<model>`: one MonitorModel per
 * model and environment, watching the version that serves all traffic; a newer promotion replaces it.
 */
export function monitorWorkflowId(key: DeploymentKey): string {
  return `monitor/${key.environment}/${key.model}`;
}

/** The deployment a monitor's workflow id names; undefined for an id that is not `monitor/<environment>/<model>`. */
export function parseMonitorWorkflowId(workflowId: string): DeploymentKey | undefined {
  const parts = workflowId.split('/');
  if (parts.length !== 3 || parts[0] !== 'monitor') return undefined;
  const [, environment, model] = parts;
  if (!environment || !model) return undefined;
  return { model, environment };
}

/** The deployment as people read it: `<model>@<environment>`. */
export function deploymentLabel(key: DeploymentKey): string {
  return `${key.model}@${key.environment}`;
}

/** The deployment a `model@environment` label names; undefined for text that is not one. */
export function parseDeploymentLabel(label: string): DeploymentKey | undefined {
  const at = label.lastIndexOf('@');
  if (at <= 0 || at === label.length - 1) return undefined;
  return { model: label.slice(0, at), environment: label.slice(at + 1) };
}

/** The deployment facts the audit trail attributes each record to. */
export interface AuditContext extends DeploymentKey {
  commit: string;
}

/**
 * Header on every activity task carrying the {@link AuditContext}: the workflow interceptor adds
 * it from the memo, the worker's audit interceptor reads it.
 */
export const AUDIT_CONTEXT_HEADER = 'modelship-audit-context';

/**
 * Memo key under which the starter puts the deployment (`DeploymentMemo` in
 * `run-start.ts`); the workflow interceptor reads the {@link AuditContext} from it and
 * `apply` reads the commit and spec digest of the latest run.
 */
export const MEMO_DEPLOYMENT_KEY = 'deployment';

/** A repository URL with its user info removed, for messages and annotations: a remote may embed a token. */
export function withoutCredentials(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/@]*@/i, '$1');
}
