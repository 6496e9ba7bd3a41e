/**
 * Configuration from the environment, parsed once at the boundary and passed down. Nothing
 * else reads `process.env` for these settings, so their defaults and coercions live here only.
 */
import { isAbsolute, resolve } from 'node:path';
import type { LogLevel } from '@temporalio/worker';
import { z } from 'zod';
import { isPostgresUrl } from '../audit/postgres-url.ts';
import type { GitCredentials } from '../sources/git/checkouts.ts';

/** Temporal SDK log levels, quietest last. */
const LOG_LEVELS = ['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR'] as const satisfies readonly LogLevel[];

const optionalText = z
  .string()
  .optional()
  .transform((value) => (value === undefined || value.trim() === '' ? undefined : value.trim()));

const EnvSchema = z.object({
  MODELSHIP_HOME: optionalText.describe(
    'Where state lives: audit log, artifacts, bundles, dev server database.',
  ),
  TEMPORAL_ADDRESS: optionalText.describe('host:port of the Temporal frontend.'),
  TEMPORAL_NAMESPACE: optionalText.describe('Temporal namespace.'),
  TEMPORAL_API_KEY: optionalText.describe('API key for Temporal Cloud (implies TLS).'),
  TEMPORAL_TLS: z
    .enum(['true', 'false', '1', '0', ''])
    .optional()
    .describe('Use TLS to reach Temporal; "true" or "1" to enable.'),
  MODELSHIP_TASK_QUEUE: optionalText.describe('Task queue the worker polls.'),
  // The message never repeats the value: it may hold a password.
  MODELSHIP_AUDIT_URL: optionalText
    .refine((url) => url === undefined || isPostgresUrl(url), {
      message:
        'must be a postgres:// or postgresql:// URL (e.g. postgres://modelship@db:5432/modelship); ' +
        'unset it to keep the audit log in SQLite under MODELSHIP_HOME',
    })
    .describe('PostgreSQL URL of a shared audit log; unset, the log is audit.db in MODELSHIP_HOME.'),
  MODELSHIP_DATA_PLANE_URL: optionalText
    .refine((url) => url === undefined || /^https?:\/\/[^/]+/.test(url), {
      message: 'must be an http:// or https:// URL of the data plane, e.g. http://127.0.0.1:8000',
    })
    .describe('Base URL of the serving data plane whose admin API rollouts drive.'),
  MODELSHIP_ADMIN_TOKEN: optionalText.describe('Bearer token of the data plane admin API.'),
  MODELSHIP_EVIDENCE_KEY: optionalText.describe(
    'PEM private key that signs bundle evidence (CycloneDX, SLSA); default MODELSHIP_HOME/keys/evidence.key, created once.',
  ),
  MODELSHIP_WORKFLOW_BUNDLE: optionalText.describe(
    'A prebuilt workflow bundle (`npx tsx scripts/build-workflow-bundle.ts --out FILE`) the worker loads instead of bundling the workflows at start; it must come from the same sources.',
  ),
  MODELSHIP_PROMETHEUS_URL: optionalText
    .refine((url) => url === undefined || /^https?:\/\/[^/]+/.test(url), {
      message: 'must be an http:// or https:// URL of a Prometheus server, e.g. http://127.0.0.1:9090',
    })
    .describe(
      'Prometheus that scrapes the data plane: analysis reads counters from it, in every environment.',
    ),
  MODELSHIP_PROMETHEUS_URLS: optionalText
    .refine((list) => list === undefined || parseEnvironmentUrls(list) !== undefined, {
      message:
        'must be a comma-separated list of environment=URL pairs, e.g. production=http://prom:9090,staging=http://prom-staging:9090',
    })
    .describe(
      'Per-environment Prometheus servers (environment=URL, comma-separated); wins over MODELSHIP_PROMETHEUS_URL.',
    ),
  // The worker fetches each deployment's commit itself (sources/git); these reach its repositories.
  MODELSHIP_GIT_TOKEN: optionalText.describe(
    'Token for https Git repositories, sent as HTTP Basic auth (GitHub: a token with contents:read).',
  ),
  MODELSHIP_GIT_USERNAME: optionalText.describe(
    'User name sent with MODELSHIP_GIT_TOKEN (default x-access-token, what GitHub expects).',
  ),
  MODELSHIP_GIT_SSH_KEY: optionalText.describe('Private key file for ssh:// and git@host:path repositories.'),
  MODELSHIP_GIT_KNOWN_HOSTS: optionalText.describe(
    'known_hosts file the ssh host keys are checked against (strict); unset, ssh uses its own.',
  ),
  MODELSHIP_DATA_PLANE_MODE: z
    .enum(['admin', 'desired-state'])
    .optional()
    .describe(
      "How rollouts drive the data plane: admin (default: the one data plane at MODELSHIP_DATA_PLANE_URL, through its admin API) or desired-state (write the environment's desired state and wait for every `modelship serve --environment` replica to serve it).",
    ),
  MODELSHIP_DESIRED_STATE_URL: optionalText
    .refine((url) => url === undefined || /^postgres(ql)?:\/\//.test(url), {
      message:
        'must be a postgres:// URL (several machines); unset it to keep desired state in files under MODELSHIP_HOME',
    })
    .describe(
      'PostgreSQL URL of the desired state serve replicas follow; unset: files in MODELSHIP_HOME/desired-state (one machine).',
    ),
  // Where `package` pushes bundles as OCI artifacts; unset, an OCI image layout under MODELSHIP_HOME.
  MODELSHIP_REGISTRY_URL: optionalText
    .refine((url) => url === undefined || /^https?:\/\/[^/\s]+\/?$/.test(url), {
      message:
        'must be the http:// or https:// base URL of an OCI registry, e.g. https://registry.example.com',
    })
    .describe(
      "OCI registry every environment's bundles are pushed to (unset: an OCI layout in MODELSHIP_HOME/oci).",
    ),
  MODELSHIP_REGISTRY_URLS: optionalText
    .refine((list) => list === undefined || parseEnvironmentUrls(list) !== undefined, {
      message:
        'must be a comma-separated list of environment=URL pairs, e.g. production=https://registry.example.com,staging=http://127.0.0.1:5000',
    })
    .describe(
      'Per-environment OCI registries (environment=URL, comma-separated); wins over MODELSHIP_REGISTRY_URL.',
    ),
  MODELSHIP_REGISTRY_USERNAME: optionalText.describe(
    'User name for the registry (HTTP Basic, or the token flow).',
  ),
  MODELSHIP_REGISTRY_PASSWORD: optionalText.describe('Password for MODELSHIP_REGISTRY_USERNAME.'),
  MODELSHIP_REGISTRY_TOKEN: optionalText.describe(
    'A bearer token for the registry, instead of a user name and password.',
  ),
  MODELSHIP_MAX_ARTIFACT_BYTES: optionalText
    .refine((value) => value === undefined || /^[1-9][0-9]{0,15}$/.test(value), {
      message: 'must be a whole number of bytes, e.g. 4294967296',
    })
    .describe('Largest model file the worker downloads or copies (default 4 GiB).'),
  MODELSHIP_HEALTH_PORT: optionalText
    .refine((value) => value === undefined || (/^[0-9]{1,5}$/.test(value) && Number(value) <= 65535), {
      message: 'must be a TCP port, e.g. 8081',
    })
    .describe("Port of the worker's liveness endpoint (GET /healthz); unset: none, as on a laptop."),
  MODELSHIP_LOG_LEVEL: z
    .enum(LOG_LEVELS)
    .optional()
    .describe('Temporal SDK log level for the worker and dev commands (default WARN).'),
});

/** Everything the worker and the CLI need to reach Temporal and the local state. */
export interface ModelshipConfig {
  /** Absolute path of MODELSHIP_HOME. */
  home: string;
  temporal: {
    address: string;
    namespace: string;
    apiKey: string | undefined;
    tls: boolean;
  };
  taskQueue: string;
  /** PostgreSQL URL of the audit log (MODELSHIP_AUDIT_URL), or undefined for SQLite under `home`. */
  auditUrl: string | undefined;
  /** Log level of the Temporal SDK runtime in long-running commands. */
  logLevel: (typeof LOG_LEVELS)[number];
  /** The serving data plane the rollout activities drive through its admin API. */
  dataPlane: { url: string; adminToken: string | undefined };
  /** PEM private key that signs bundle evidence; undefined: `<home>/keys/evidence.key`. */
  evidenceKeyPath: string | undefined;
  /** A prebuilt workflow bundle to load; undefined: the workflows are bundled at start. */
  workflowBundlePath: string | undefined;
  /** Where analysis reads counters instead of the admin API; empty: the admin API everywhere. */
  prometheus: { url?: string; urls: Record<string, string> };
  /** How the worker authenticates to deployments' Git repositories. */
  git: GitCredentials;
  /** Largest model file the worker downloads or copies; undefined: the default (4 GiB). */
  maxArtifactBytes: number | undefined;
  /** Where bundles are pushed as OCI artifacts; no URL for an environment: the layout under `home`. */
  registry: RegistryConfig;
  /** PostgreSQL URL of the desired state (MODELSHIP_DESIRED_STATE_URL); undefined: files under `home`. */
  desiredStateUrl: string | undefined;
  /** How rollouts drive the data plane (MODELSHIP_DATA_PLANE_MODE). */
  dataPlaneMode: 'admin' | 'desired-state';
  /** Port of the worker's liveness endpoint (MODELSHIP_HEALTH_PORT); undefined: none. */
  healthPort: number | undefined;
}

/** The OCI registries bundles are pushed to, and the worker's credentials for them. */
export interface RegistryConfig {
  url?: string;
  urls: Record<string, string>;
  credentials?: { username: string; password: string } | { token: string };
}

/** The registry credentials the variables give: a token, or a user name with its password, never half of one. */
function registryCredentials(
  username: string | undefined,
  password: string | undefined,
  token: string | undefined,
): Pick<RegistryConfig, 'credentials'> {
  if (token) return { credentials: { token } };
  if (username === undefined && password === undefined) return {};
  if (!username || !password)
    throw new Error('MODELSHIP_REGISTRY_USERNAME and MODELSHIP_REGISTRY_PASSWORD must be set together');
  return { credentials: { username, password } };
}

/** `production=http://a:9090,staging=http://b:9090` → { production: …, staging: … }; undefined if malformed. */
function parseEnvironmentUrls(list: string): Record<string, string> | undefined {
  const urls: Record<string, string> = {};
  for (const pair of list
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean)) {
    const match = /^([a-z0-9]([a-z0-9-]*[a-z0-9])?)=(https?:\/\/[^/\s]+\S*)$/.exec(pair);
    if (!match?.[1] || !match[3]) return undefined;
    urls[match[1]] = match[3];
  }
  return urls;
}

const DEFAULT_TEMPORAL_ADDRESS = 'localhost:7233';
const DEFAULT_TASK_QUEUE = 'modelship';
export const DEFAULT_DATA_PLANE_URL = 'http://127.0.0.1:8000';

/** Parses the environment; throws an error naming the bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): ModelshipConfig {
  const parsed = EnvSchema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
    throw new Error(`invalid environment: ${problems.join('; ')}`);
  }
  const values = parsed.data;
  const home = values.MODELSHIP_HOME ?? '.modelship';
  return {
    home: isAbsolute(home) ? home : resolve(cwd, home),
    temporal: {
      address: values.TEMPORAL_ADDRESS ?? DEFAULT_TEMPORAL_ADDRESS,
      namespace: values.TEMPORAL_NAMESPACE ?? 'default',
      apiKey: values.TEMPORAL_API_KEY,
      tls:
        values.TEMPORAL_TLS === 'true' ||
        values.TEMPORAL_TLS === '1' ||
        values.TEMPORAL_API_KEY !== undefined,
    },
    taskQueue: values.MODELSHIP_TASK_QUEUE ?? DEFAULT_TASK_QUEUE,
    auditUrl: values.MODELSHIP_AUDIT_URL,
    logLevel: values.MODELSHIP_LOG_LEVEL ?? 'WARN',
    dataPlane: {
      url: values.MODELSHIP_DATA_PLANE_URL ?? DEFAULT_DATA_PLANE_URL,
      adminToken: values.MODELSHIP_ADMIN_TOKEN,
    },
    evidenceKeyPath: values.MODELSHIP_EVIDENCE_KEY,
    workflowBundlePath: values.MODELSHIP_WORKFLOW_BUNDLE,
    prometheus: {
      ...(values.MODELSHIP_PROMETHEUS_URL ? { url: values.MODELSHIP_PROMETHEUS_URL } : {}),
      urls: values.MODELSHIP_PROMETHEUS_URLS
        ? (parseEnvironmentUrls(values.MODELSHIP_PROMETHEUS_URLS) ?? {})
        : {},
    },
    git: {
      ...(values.MODELSHIP_GIT_TOKEN ? { token: values.MODELSHIP_GIT_TOKEN } : {}),
      ...(values.MODELSHIP_GIT_USERNAME ? { username: values.MODELSHIP_GIT_USERNAME } : {}),
      ...(values.MODELSHIP_GIT_SSH_KEY ? { sshKeyPath: resolve(cwd, values.MODELSHIP_GIT_SSH_KEY) } : {}),
      ...(values.MODELSHIP_GIT_KNOWN_HOSTS
        ? { knownHostsPath: resolve(cwd, values.MODELSHIP_GIT_KNOWN_HOSTS) }
        : {}),
    },
    registry: {
      ...(values.MODELSHIP_REGISTRY_URL ? { url: values.MODELSHIP_REGISTRY_URL.replace(/\/$/, '') } : {}),
      urls: values.MODELSHIP_REGISTRY_URLS
        ? (parseEnvironmentUrls(values.MODELSHIP_REGISTRY_URLS) ?? {})
        : {},
      ...registryCredentials(
        values.MODELSHIP_REGISTRY_USERNAME,
        values.MODELSHIP_REGISTRY_PASSWORD,
        values.MODELSHIP_REGISTRY_TOKEN,
      ),
    },
    desiredStateUrl: values.MODELSHIP_DESIRED_STATE_URL,
    dataPlaneMode: values.MODELSHIP_DATA_PLANE_MODE ?? 'admin',
    healthPort: values.MODELSHIP_HEALTH_PORT === undefined ? undefined : Number(values.MODELSHIP_HEALTH_PORT),
    maxArtifactBytes: values.MODELSHIP_MAX_ARTIFACT_BYTES
      ? Number(values.MODELSHIP_MAX_ARTIFACT_BYTES)
      : undefined,
  };
}
