/**
 * Rendering `deploy/kubernetes/` overlays with kustomize and checking the result against the
 * Kubernetes schemas, plus the few typed views of the rendered objects the assertions read.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import type { KubernetesTools } from '../support/kubernetes-tools.ts';

export interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { secretKeyRef?: { name: string; key: string; optional?: boolean } };
}

export interface Probe {
  httpGet?: { path: string; port: number | string };
}

export interface Container {
  name: string;
  image: string;
  args?: string[];
  env?: EnvVar[];
  envFrom?: { configMapRef?: { name: string }; secretRef?: { name: string } }[];
  ports?: { name?: string; containerPort: number }[];
  livenessProbe?: Probe;
  readinessProbe?: Probe;
  startupProbe?: Probe;
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  securityContext?: {
    runAsNonRoot?: boolean;
    runAsUser?: number;
    allowPrivilegeEscalation?: boolean;
    readOnlyRootFilesystem?: boolean;
    capabilities?: { drop?: string[] };
  };
  volumeMounts?: { name: string; mountPath: string }[];
}

export interface PodSpec {
  containers: Container[];
  terminationGracePeriodSeconds?: number;
  readinessGates?: unknown[];
  securityContext?: { runAsNonRoot?: boolean; runAsUser?: number };
  volumes?: { name: string; emptyDir?: object; secret?: { secretName: string } }[];
}

export interface PodTemplate {
  metadata: { labels: Record<string, string> };
  spec: PodSpec;
}

/** Any rendered object; `spec` and `data` are read through the kind-specific views below. */
export interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  spec?: Record<string, unknown>;
  data?: Record<string, string>;
}

export interface Rendered {
  /** The YAML stream kustomize printed. */
  text: string;
  manifests: Manifest[];
}

/** `kubectl kustomize dir`: the overlay as it would be applied. */
export function render(tools: KubernetesTools, dir: string): Rendered {
  const result = spawnSync(tools.kubectl, ['kustomize', dir], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`kubectl kustomize ${dir} failed: ${result.stderr}`);
  const manifests = parseAllDocuments(result.stdout).map((doc) => {
    if (doc.errors.length > 0) throw new Error(`kustomize printed invalid YAML: ${doc.errors[0]?.message}`);
    return doc.toJS() as Manifest;
  });
  return { text: result.stdout, manifests };
}

export interface Validation {
  ok: boolean;
  /** `kind/name` of each object the validator passed. */
  passed: string[];
  /** ERROR and WARN lines: a failed object, or one whose schema is unknown (a typo'd kind too). */
  problems: string[];
}

/**
 * Runs kubernetes-validate, strict (unknown fields are errors), on a YAML stream for one
 * Kubernetes version. An object without a schema only draws a warning from the tool; here it is
 * a problem, since nothing would have checked it.
 */
export function validate(tools: KubernetesTools, yamlText: string, kubernetesVersion: string): Validation {
  const file = join(mkdtempSync(join(tmpdir(), 'modelship-k8s-')), 'rendered.yaml');
  writeFileSync(file, yamlText);
  const result = spawnSync(tools.validate, ['--strict', '-k', kubernetesVersion, file], {
    encoding: 'utf8',
  });
  const lines = `${result.stdout}\n${result.stderr}`.split('\n').filter((line) => line.trim() !== '');
  const passed = lines.flatMap((line) => /^INFO .* passed for resource (\S+) against/.exec(line)?.[1] ?? []);
  const problems = lines.filter((line) => !/^INFO /.test(line));
  return { ok: result.status === 0 && problems.length === 0, passed, problems };
}

export function named<T extends Manifest>(manifests: Manifest[], kind: string, name: string): T {
  const found = manifests.find((m) => m.kind === kind && m.metadata.name === name);
  if (!found) throw new Error(`no ${kind} ${name} rendered`);
  return found as T;
}

/** The pod template of a Deployment or Job. */
export function podTemplate(manifest: Manifest): PodTemplate {
  const template = manifest.spec?.template as PodTemplate | undefined;
  if (!template) throw new Error(`${manifest.kind} ${manifest.metadata.name} has no pod template`);
  return template;
}

/** The ConfigMaps a container reads its environment from, by their (hashed) name. */
function configMapEnvironment(manifests: Manifest[], container: Container): Record<string, string> {
  const values: Record<string, string> = {};
  for (const source of container.envFrom ?? []) {
    const name = source.configMapRef?.name;
    if (name) Object.assign(values, named(manifests, 'ConfigMap', name).data);
  }
  return values;
}

/** The container's plain environment: its ConfigMaps, then literal `env` values, as the kubelet builds it. */
export function plainEnvironment(manifests: Manifest[], container: Container): Record<string, string> {
  const values = configMapEnvironment(manifests, container);
  for (const variable of container.env ?? []) {
    if (variable.value !== undefined) values[variable.name] = variable.value;
  }
  return values;
}

/** The container's args with `$(NAME)` expanded as the kubelet does (unknown names stay as written). */
export function expandedArgs(manifests: Manifest[], container: Container): string[] {
  const environment = plainEnvironment(manifests, container);
  return (container.args ?? []).map((arg) =>
    arg.replace(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (whole, name: string) => environment[name] ?? whole),
  );
}

/** The port number a probe or Service names, resolving a named container port. */
export function portNumber(container: Container, port: number | string): number | undefined {
  if (typeof port === 'number') return port;
  return container.ports?.find((p) => p.name === port)?.containerPort;
}

/** Whether every key/value of `selector` is among `labels`. */
export function selects(selector: Record<string, string>, labels: Record<string, string>): boolean {
  return Object.entries(selector).every(([key, value]) => labels[key] === value);
}
