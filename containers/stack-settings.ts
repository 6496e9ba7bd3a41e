/**
 * The settings of the one-host stack (`compose.yaml`): its ports, environment, task queue and
 * images, as the variables compose.yaml reads. The defaults here are the ones compose.yaml spells
 * after `:-` (a test holds the two together), so `modelship stack up` and a plain
 * `docker-compose up` start the same stack, and the configuration files written beside it
 * (HAProxy's backends, Prometheus's targets) name the ports the services really listen on.
 */

/** Every port the stack listens on, all on 127.0.0.1 (host networking), by compose variable. */
export const STACK_PORT_DEFAULTS = {
  MODELSHIP_STACK_POSTGRES_PORT: 55432,
  MODELSHIP_STACK_TEMPORAL_PORT: 7233,
  MODELSHIP_STACK_TEMPORAL_UI_PORT: 8233,
  MODELSHIP_STACK_TEMPORAL_HTTP_PORT: 7243,
  MODELSHIP_STACK_TEMPORAL_METRICS_PORT: 7235,
  MODELSHIP_STACK_REGISTRY_PORT: 5000,
  MODELSHIP_STACK_WORKER_1_HEALTH_PORT: 8081,
  MODELSHIP_STACK_WORKER_2_HEALTH_PORT: 8082,
  MODELSHIP_STACK_REPLICA_1_PORT: 8101,
  MODELSHIP_STACK_REPLICA_2_PORT: 8102,
  MODELSHIP_STACK_LOADBALANCER_PORT: 8000,
  MODELSHIP_STACK_PROMETHEUS_PORT: 9090,
} as const;

export type StackPortVariable = keyof typeof STACK_PORT_DEFAULTS;

/** The other values compose.yaml reads, with its defaults. */
export const STACK_VALUE_DEFAULTS = {
  MODELSHIP_STACK_ENVIRONMENT: 'production',
  MODELSHIP_STACK_TASK_QUEUE: 'modelship',
  MODELSHIP_IMAGE: 'modelship:latest',
  MODELSHIP_POSTGRES_IMAGE: 'postgres:16',
  MODELSHIP_TEMPORAL_IMAGE: 'temporalio/temporal:1.9.1',
  MODELSHIP_REGISTRY_IMAGE: 'registry:2.8',
  MODELSHIP_HAPROXY_IMAGE: 'haproxy:2.8',
  MODELSHIP_PROMETHEUS_IMAGE: 'prom/prometheus:v2.53.0',
} as const;

export type StackValueVariable = keyof typeof STACK_VALUE_DEFAULTS;

/** The services whose image a stand-in can replace, with the variable that names the image. */
export const IMAGE_VARIABLES = {
  postgres: 'MODELSHIP_POSTGRES_IMAGE',
  temporal: 'MODELSHIP_TEMPORAL_IMAGE',
  registry: 'MODELSHIP_REGISTRY_IMAGE',
  haproxy: 'MODELSHIP_HAPROXY_IMAGE',
  prometheus: 'MODELSHIP_PROMETHEUS_IMAGE',
} as const satisfies Record<string, StackValueVariable>;

export type StandinName = keyof typeof IMAGE_VARIABLES;

export interface StackSettings {
  ports: Record<StackPortVariable, number>;
  values: Record<StackValueVariable, string>;
  /** Absolute path of the folder holding the stack's secrets and configuration files. */
  dir: string;
}

/** The PostgreSQL role, password and database compose.yaml creates. */
export const STACK_DATABASE = { user: 'modelship', password: 'modelship', database: 'modelship' } as const;

/**
 * Reads the settings from `env` (the variables compose.yaml reads), falling back to the
 * defaults; a port that is not a port is an error that names the variable.
 */
export function stackSettings(env: NodeJS.ProcessEnv, dir: string): StackSettings {
  const ports = { ...STACK_PORT_DEFAULTS } as Record<StackPortVariable, number>;
  for (const name of Object.keys(STACK_PORT_DEFAULTS) as StackPortVariable[]) {
    const text = env[name];
    if (text === undefined || text === '') continue;
    const port = Number(text);
    if (!/^\d+$/.test(text) || port < 1 || port > 65535) {
      throw new Error(`${name}=${JSON.stringify(text)} is not a TCP port (1 to 65535)`);
    }
    ports[name] = port;
  }
  const taken = new Map<number, string>();
  for (const [name, port] of Object.entries(ports)) {
    const other = taken.get(port);
    if (other) throw new Error(`${name} and ${other} both say port ${port}: each service needs its own`);
    taken.set(port, name);
  }
  const values = { ...STACK_VALUE_DEFAULTS } as Record<StackValueVariable, string>;
  for (const name of Object.keys(STACK_VALUE_DEFAULTS) as StackValueVariable[]) {
    const text = env[name];
    if (text) values[name] = text;
  }
  return { ports, values, dir };
}

/** The variables to run docker-compose with: every setting spelt out, so nothing falls to a default twice. */
export function composeEnvironment(settings: StackSettings): Record<string, string> {
  const env: Record<string, string> = { MODELSHIP_STACK_DIR: settings.dir };
  for (const [name, port] of Object.entries(settings.ports)) env[name] = String(port);
  for (const [name, value] of Object.entries(settings.values)) env[name] = value;
  return env;
}

/** Where a client reaches each part of a running stack. */
export function stackEndpoints(settings: StackSettings) {
  const { ports } = settings;
  const { user, password, database } = STACK_DATABASE;
  return {
    temporalAddress: `127.0.0.1:${ports.MODELSHIP_STACK_TEMPORAL_PORT}`,
    temporalUi: `http://127.0.0.1:${ports.MODELSHIP_STACK_TEMPORAL_UI_PORT}`,
    postgresUrl: `postgres://${user}:${password}@127.0.0.1:${ports.MODELSHIP_STACK_POSTGRES_PORT}/${database}`,
    registryUrl: `http://127.0.0.1:${ports.MODELSHIP_STACK_REGISTRY_PORT}`,
    inferenceUrl: `http://127.0.0.1:${ports.MODELSHIP_STACK_LOADBALANCER_PORT}`,
    prometheusUrl: `http://127.0.0.1:${ports.MODELSHIP_STACK_PROMETHEUS_PORT}`,
    replicaUrls: [
      `http://127.0.0.1:${ports.MODELSHIP_STACK_REPLICA_1_PORT}`,
      `http://127.0.0.1:${ports.MODELSHIP_STACK_REPLICA_2_PORT}`,
    ],
    environment: settings.values.MODELSHIP_STACK_ENVIRONMENT,
    taskQueue: settings.values.MODELSHIP_STACK_TASK_QUEUE,
  };
}

const replicaAddresses = (settings: StackSettings) => [
  `127.0.0.1:${settings.ports.MODELSHIP_STACK_REPLICA_1_PORT}`,
  `127.0.0.1:${settings.ports.MODELSHIP_STACK_REPLICA_2_PORT}`,
];

/**
 * The load balancer in front of the replicas. A replica is checked every second on its readiness
 * (503 until it has applied the desired state once, and while a model has no ready version) and
 * taken out after two failures; a request that finds a replica gone (killed, restarting) or not
 * holding the model yet (404, 503) is sent to the other one (`retry-on`, `redispatch`; a POST can
 * be retried because HAProxy buffers its body first), so clients do not see a replica die.
 */
export function haproxyConfig(settings: StackSettings): string {
  const servers = replicaAddresses(settings)
    .map((address, index) => `  server replica-${index + 1} ${address} check inter 1s fall 2 rise 1`)
    .join('\n');
  return `# Written by \`modelship stack up\` (containers/stack-settings.ts); rewritten at every start.
global
  log stdout format raw local0 warning

defaults
  mode http
  log global
  timeout connect 2s
  timeout client 60s
  timeout server 60s
  retries 3
  option redispatch 1
  retry-on conn-failure empty-response response-timeout 404 503
  option http-buffer-request

frontend inference
  bind 127.0.0.1:${settings.ports.MODELSHIP_STACK_LOADBALANCER_PORT}
  default_backend replicas

backend replicas
  balance roundrobin
  option httpchk GET /v2/health/ready
${servers}
`;
}

/**
 * Prometheus scraping both replicas' `/metrics` every 2 s, labelled by replica, and both workers'
 * health servers, where the monitors' findings are counted (`worker/monitor-metrics.ts`).
 */
export function prometheusConfig(settings: StackSettings): string {
  const targets = replicaAddresses(settings)
    .map(
      (address, index) =>
        `      - targets: ['${address}']\n        labels: { replica: replica-${index + 1} }`,
    )
    .join('\n');
  const workers = [
    settings.ports.MODELSHIP_STACK_WORKER_1_HEALTH_PORT,
    settings.ports.MODELSHIP_STACK_WORKER_2_HEALTH_PORT,
  ]
    .map(
      (port, index) =>
        `      - targets: ['127.0.0.1:${port}']\n        labels: { worker: worker-${index + 1} }`,
    )
    .join('\n');
  return `# Written by \`modelship stack up\` (containers/stack-settings.ts); rewritten at every start.
global:
  scrape_interval: 2s
  evaluation_interval: 2s

scrape_configs:
  - job_name: modelship-serve
    metrics_path: /metrics
    static_configs:
${targets}
  - job_name: modelship-worker
    metrics_path: /metrics
    static_configs:
${workers}
`;
}
