/**
 * deploy/kubernetes: each overlay is rendered by a real kustomize and every object is checked,
 * strictly, against the Kubernetes schemas of pinned releases; then what an operator relies on is
 * asserted on the rendered objects. No cluster is involved: this proves the manifests are well
 * formed and consistent, not that the pods come up.
 */
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { isCredentialKeyName, scanTextsForSecrets } from '../../supply-chain/secrets/index.ts';
import { loadConfig } from '../../worker/config.ts';
import {
  ensureKubernetesTools,
  KUBERNETES_VERSIONS,
  type KubernetesTools,
} from '../support/kubernetes-tools.ts';
import { repoPath } from '../support/paths.ts';
import {
  type Container,
  expandedArgs,
  type Manifest,
  named,
  plainEnvironment,
  podTemplate,
  portNumber,
  type Rendered,
  render,
  selects,
  validate,
} from './manifests.ts';

const OVERLAYS = [
  { overlay: 'staging', environment: 'staging', namespace: 'modelship-staging' },
  { overlay: 'production', environment: 'production', namespace: 'modelship-production' },
] as const;

/** Variables that hold credentials: only ever from a Secret, never a literal or a ConfigMap. */
const SECRET_VARIABLES = [
  'MODELSHIP_AUDIT_URL',
  'MODELSHIP_DESIRED_STATE_URL',
  'TEMPORAL_API_KEY',
  'MODELSHIP_GIT_TOKEN',
  'MODELSHIP_REGISTRY_USERNAME',
  'MODELSHIP_REGISTRY_PASSWORD',
  'MODELSHIP_REGISTRY_TOKEN',
  'MODELSHIP_ADMIN_TOKEN',
];

/** The Secrets README.md tells operators to create; the manifests must reference exactly these. */
const DOCUMENTED_SECRETS = [
  'modelship-admin-token',
  'modelship-credentials',
  'modelship-database',
  'modelship-evidence',
  'modelship-feedback-token',
];

/**
 * Variables the manifests set that worker/config.ts does not read: the environment name (only
 * expanded into args), the worker's health port and the repository reconcile passes fetch.
 */
const OTHER_VARIABLES = ['MODELSHIP_ENVIRONMENT', 'MODELSHIP_HEALTH_PORT', 'MODELSHIP_REPOSITORY_URL'];

const DEPLOYMENTS = ['modelship-worker', 'modelship-data-plane'];

let tools: KubernetesTools;
const rendered = new Map<string, Rendered>();

beforeAll(() => {
  // `npm test` installs these first (scripts/ensure-test-tools.ts); a lone run installs them here.
  tools = ensureKubernetesTools();
  for (const { overlay } of OVERLAYS) {
    rendered.set(overlay, render(tools, repoPath(`deploy/kubernetes/overlays/${overlay}`)));
  }
}, 300_000);

function manifestsOf(overlay: string): Manifest[] {
  const found = rendered.get(overlay);
  if (!found) throw new Error(`overlay ${overlay} was not rendered`);
  return found.manifests;
}

/** Every container of every workload (Deployments and the Job), with its owner. */
function containers(manifests: Manifest[]): { owner: Manifest; container: Container }[] {
  return manifests
    .filter((m) => m.kind === 'Deployment' || m.kind === 'Job')
    .flatMap((owner) => podTemplate(owner).spec.containers.map((container) => ({ owner, container })));
}

function container(manifests: Manifest[], deployment: string): Container {
  const found = podTemplate(named(manifests, 'Deployment', deployment)).spec.containers[0];
  if (!found) throw new Error(`${deployment} has no container`);
  return found;
}

describe.each(OVERLAYS)('deploy/kubernetes/overlays/$overlay', ({ overlay, environment, namespace }) => {
  it.each(KUBERNETES_VERSIONS)('renders objects that validate strictly against Kubernetes %s', (version) => {
    const { text, manifests } = rendered.get(overlay) as Rendered;
    const result = validate(tools, text, version);
    expect(result.problems).toEqual([]);
    expect(result.ok).toBe(true);
    // Every object was checked against a schema, none skipped.
    expect(result.passed.sort()).toEqual(
      manifests.map((m) => `${m.kind.toLowerCase()}/${m.metadata.name}`).sort(),
    );
  });

  it("is the overlay's environment, in its namespace, with its image", () => {
    const manifests = manifestsOf(overlay);
    for (const manifest of manifests) expect(manifest.metadata.namespace, manifest.kind).toBe(namespace);
    const config = manifests.find((m) => m.kind === 'ConfigMap' && m.data?.MODELSHIP_ENVIRONMENT);
    expect(config?.data?.MODELSHIP_ENVIRONMENT).toBe(environment);
    for (const { container } of containers(manifests)) {
      // kustomize `images:` replaced the bare name of the base with a tagged reference.
      expect(container.image).toMatch(/^[^:]+\/modelship:[\w.-]+$/);
    }
  });

  it('runs every container as non-root with a read-only root filesystem and no privileges', () => {
    const manifests = manifestsOf(overlay);
    for (const { owner, container } of containers(manifests)) {
      const pod = podTemplate(owner).spec;
      const where = `${owner.metadata.name}/${container.name}`;
      expect(pod.securityContext?.runAsNonRoot, where).toBe(true);
      expect(container.securityContext, where).toMatchObject({
        runAsNonRoot: true,
        runAsUser: 10001,
        allowPrivilegeEscalation: false,
        readOnlyRootFilesystem: true,
        capabilities: { drop: ['ALL'] },
      });
      // The root filesystem is read-only: /tmp and MODELSHIP_HOME are scratch volumes.
      const emptyDirs = (pod.volumes ?? []).filter((v) => v.emptyDir).map((v) => v.name);
      for (const path of ['/tmp', '/var/lib/modelship']) {
        const mount = container.volumeMounts?.find((m) => m.mountPath === path);
        expect(mount && emptyDirs.includes(mount.name), `${where} ${path}`).toBe(true);
      }
      expect(plainEnvironment(manifests, container).MODELSHIP_HOME).toBe('/var/lib/modelship');
    }
  });

  it('gives every container resources, and every long-running one probes', () => {
    for (const { owner, container } of containers(manifestsOf(overlay))) {
      const where = `${owner.metadata.name}/${container.name}`;
      expect(Object.keys(container.resources?.requests ?? {}).sort(), where).toEqual(['cpu', 'memory']);
      expect(Object.keys(container.resources?.limits ?? {}).sort(), where).toEqual(['cpu', 'memory']);
      // A Job's container runs to completion and serves nothing a probe could ask.
      if (owner.kind === 'Deployment') {
        expect(container.livenessProbe?.httpGet, where).toBeDefined();
        expect(container.readinessProbe?.httpGet, where).toBeDefined();
      }
    }
  });

  it('runs the worker with its health endpoint probed and time to finish activities', () => {
    const manifests = manifestsOf(overlay);
    const worker = container(manifests, 'modelship-worker');
    expect(worker.args).toEqual(['worker']);
    const port = plainEnvironment(manifests, worker).MODELSHIP_HEALTH_PORT;
    expect(port).toBe('8081');
    const probe = worker.livenessProbe?.httpGet;
    expect(probe?.path).toBe('/healthz');
    expect(portNumber(worker, probe?.port ?? '')).toBe(8081);
    const pod = podTemplate(named(manifests, 'Deployment', 'modelship-worker')).spec;
    expect(pod.terminationGracePeriodSeconds).toBeGreaterThanOrEqual(120);
  });

  it('runs the data plane for its environment, gated on readiness during rollouts', () => {
    const manifests = manifestsOf(overlay);
    const dataPlane = container(manifests, 'modelship-data-plane');
    expect(expandedArgs(manifests, dataPlane)).toEqual([
      'serve',
      '--environment',
      environment,
      '--host',
      '0.0.0.0',
      '--port',
      '8000',
      '--admin-token-file',
      '/var/run/secrets/modelship/admin-token',
      '--feedback-token-file',
      '/var/run/secrets/modelship-feedback/feedback-token',
      '--evidence-key',
      '/etc/modelship/evidence/evidence.pub',
    ]);
    expect(dataPlane.readinessProbe?.httpGet?.path).toBe('/v2/health/ready');
    expect(dataPlane.livenessProbe?.httpGet?.path).toBe('/v2/health/live');
    expect(portNumber(dataPlane, dataPlane.readinessProbe?.httpGet?.port ?? '')).toBe(8000);
    expect(portNumber(dataPlane, dataPlane.livenessProbe?.httpGet?.port ?? '')).toBe(8000);
    const deployment = named(manifests, 'Deployment', 'modelship-data-plane');
    expect(deployment.spec?.minReadySeconds).toBeGreaterThan(0);
    expect(deployment.spec?.strategy).toMatchObject({ rollingUpdate: { maxUnavailable: 0 } });
    // No gate that no controller would ever set (see the comment in base/data-plane.yaml).
    expect(podTemplate(deployment).spec.readinessGates).toBeUndefined();
  });

  it('points the Service, the PodDisruptionBudget and the HPA at the data plane and nothing else', () => {
    const manifests = manifestsOf(overlay);
    const labelsOf = (name: string) => podTemplate(named(manifests, 'Deployment', name)).metadata.labels;
    const service = named(manifests, 'Service', 'modelship-data-plane');
    const serviceSelector = service.spec?.selector as Record<string, string>;
    expect(selects(serviceSelector, labelsOf('modelship-data-plane'))).toBe(true);
    expect(selects(serviceSelector, labelsOf('modelship-worker'))).toBe(false);
    const [servicePort] = (service.spec?.ports ?? []) as { port: number; targetPort: number | string }[];
    const dataPlane = container(manifests, 'modelship-data-plane');
    expect(portNumber(dataPlane, servicePort?.targetPort ?? '')).toBe(8000);

    const pdb = named(manifests, 'PodDisruptionBudget', 'modelship-data-plane');
    const pdbSelector =
      (pdb.spec?.selector as { matchLabels?: Record<string, string> } | undefined)?.matchLabels ?? {};
    expect(selects(pdbSelector, labelsOf('modelship-data-plane'))).toBe(true);
    expect(selects(pdbSelector, labelsOf('modelship-worker'))).toBe(false);

    const hpa = named(manifests, 'HorizontalPodAutoscaler', 'modelship-data-plane');
    expect(hpa.apiVersion).toBe('autoscaling/v2');
    expect(hpa.spec?.scaleTargetRef).toEqual({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      name: 'modelship-data-plane',
    });
    expect(hpa.spec?.metrics).toEqual([
      expect.objectContaining({ type: 'Resource', resource: expect.objectContaining({ name: 'cpu' }) }),
    ]);
    // The Deployment starts at the HPA's floor, so applying does not fight the autoscaler.
    const deployment = named(manifests, 'Deployment', 'modelship-data-plane');
    expect(deployment.spec?.replicas).toBe(hpa.spec?.minReplicas);
  });

  it("has Prometheus scrape the data plane's replicas through its Service", () => {
    const manifests = manifestsOf(overlay);
    const config = manifests.find((m) => m.kind === 'ConfigMap' && m.data?.['prometheus.yml']);
    const prometheus = parse(config?.data?.['prometheus.yml'] ?? '');
    const [job] = prometheus.scrape_configs;
    expect(job.metrics_path).toBe('/metrics');
    expect(job.kubernetes_sd_configs).toEqual([
      { role: 'endpointslice', namespaces: { own_namespace: true } },
    ]);
    // The keep rule matches the Service's labels and port name as rendered.
    const keep = job.relabel_configs.find((rule: { action?: string }) => rule.action === 'keep');
    const service = named(manifests, 'Service', 'modelship-data-plane');
    const [port] = (service.spec?.ports ?? []) as { name: string }[];
    const labels = service.metadata.labels ?? {};
    const actual = [labels['app.kubernetes.io/name'], labels['app.kubernetes.io/component'], port?.name];
    expect(new RegExp(`^(?:${keep.regex})$`).test(actual.join(';'))).toBe(true);
  });

  it('runs the reconcile Job, which declares the Temporal Schedule for this environment', () => {
    const manifests = manifestsOf(overlay);
    const job = named(manifests, 'Job', 'modelship-reconcile-schedule');
    const [reconcile] = podTemplate(job).spec.containers;
    expect(reconcile && expandedArgs(manifests, reconcile)).toEqual([
      'reconcile',
      '--env',
      environment,
      '--every',
      '5m',
    ]);
    expect(reconcile && plainEnvironment(manifests, reconcile).MODELSHIP_REPOSITORY_URL).toMatch(
      /^https:\/\//,
    );
  });

  it('references credentials from Secrets and commits none', async () => {
    const { text, manifests } = rendered.get(overlay) as Rendered;
    expect(manifests.filter((m) => m.kind === 'Secret')).toEqual([]);
    const referenced = new Set<string>();
    for (const { owner, container } of containers(manifests)) {
      for (const variable of container.env ?? []) {
        if (!SECRET_VARIABLES.includes(variable.name)) continue;
        expect(variable.value, `${owner.metadata.name} ${variable.name}`).toBeUndefined();
        const ref = variable.valueFrom?.secretKeyRef;
        expect(ref, `${owner.metadata.name} ${variable.name}`).toBeDefined();
        if (ref) referenced.add(ref.name);
      }
      for (const volume of podTemplate(owner).spec.volumes ?? []) {
        if (volume.secret) referenced.add(volume.secret.secretName);
      }
    }
    expect([...referenced].sort()).toEqual(DOCUMENTED_SECRETS);
    for (const config of manifests.filter((m) => m.kind === 'ConfigMap')) {
      for (const key of Object.keys(config.data ?? {})) {
        expect(SECRET_VARIABLES.includes(key) || isCredentialKeyName(key), key).toBe(false);
      }
    }
    // The project's own secret scanner (secretlint's rules) finds nothing in what is applied.
    expect(await scanTextsForSecrets([{ path: `${overlay}.yaml`, text }])).toEqual([]);
  });

  it('sets only variables modelship reads, and a configuration the worker accepts', () => {
    const manifests = manifestsOf(overlay);
    const configSource = readFileSync(repoPath('worker/config.ts'), 'utf8');
    for (const { owner, container } of containers(manifests)) {
      const names = [
        ...Object.keys(plainEnvironment(manifests, container)),
        ...(container.env ?? []).map((v) => v.name),
      ];
      for (const name of names) {
        // A misspelt name would be silently ignored by the program.
        expect(configSource.includes(`${name}:`) || OTHER_VARIABLES.includes(name), name).toBe(true);
      }
      expect(names, owner.metadata.name).not.toContain('MODELSHIP_WORKFLOW_BUNDLE');
    }
    const worker = container(manifests, 'modelship-worker');
    const config = loadConfig({
      ...plainEnvironment(manifests, worker),
      // Stand-ins for what the Secrets hold, to check the rest parses around them.
      MODELSHIP_AUDIT_URL: 'postgres://modelship@db:5432/modelship',
      MODELSHIP_DESIRED_STATE_URL: 'postgres://modelship@db:5432/modelship',
    });
    expect(config.dataPlaneMode).toBe('desired-state');
    expect(config.home).toBe('/var/lib/modelship');
    expect(config.evidenceKeyPath).toBe('/etc/modelship/evidence/evidence.key');
  });
});

describe('the production overlay', () => {
  it('runs more replicas than staging', () => {
    for (const name of DEPLOYMENTS) {
      const replicas = (overlay: string) => named(manifestsOf(overlay), 'Deployment', name).spec?.replicas;
      expect(replicas('production') as number, name).toBeGreaterThan(replicas('staging') as number);
    }
  });
});

describe('the validator', () => {
  // Without these, a validator that passed everything would pass the tests above too.
  const worker = () =>
    structuredClone(named(manifestsOf('production'), 'Deployment', 'modelship-worker')) as Manifest & {
      spec: { template: { spec: { containers: Record<string, unknown>[] } } };
    };
  const yamlOf = (manifest: object) => JSON.stringify(manifest);

  it('rejects a misspelt field, naming it', () => {
    const broken = worker();
    const [first] = broken.spec.template.spec.containers;
    if (first) first.readinessprobe = first.readinessProbe;
    const result = validate(tools, yamlOf(broken), KUBERNETES_VERSIONS[0]);
    expect(result.ok).toBe(false);
    expect(result.problems.join('\n')).toMatch(/'readinessprobe' was unexpected/);
  });

  it('rejects a value of the wrong type, naming the field', () => {
    const broken = worker();
    (broken.spec as Record<string, unknown>).replicas = 'two';
    const result = validate(tools, yamlOf(broken), KUBERNETES_VERSIONS[0]);
    expect(result.ok).toBe(false);
    expect(result.problems.join('\n')).toMatch(/spec\.replicas: 'two' is not of type 'integer'/);
  });

  it('rejects an object it has no schema for instead of skipping it', () => {
    const unknownKind = { apiVersion: 'apps/v1', kind: 'Deploymnet', metadata: { name: 'x' } };
    const result = validate(tools, yamlOf(unknownKind), KUBERNETES_VERSIONS[0]);
    expect(result.ok).toBe(false);
    expect(result.problems.join('\n')).toMatch(/Couldn't find schema for kind Deploymnet/);
  });
});
