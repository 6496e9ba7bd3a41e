/**
 * Shared helpers for the serving tests: bundle directories built from the committed models (or
 * hand-made ones), a real server on a free port, and plain HTTP calls against it.
 */
import { createHash } from 'node:crypto';
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { publishBundle } from '../../activities/publish-bundle.ts';
import { BOM_SIGNATURE_FILE } from '../../domain/bundle-format.ts';
import type { DeploymentRef } from '../../domain/deployment.ts';
import { bundleStores } from '../../oci/environment-stores.ts';
import { type AdminClient, createAdminClient } from '../../serving/admin-client.ts';
import { type ServingServer, type ServingServerOptions, startServingServer } from '../../serving/server.ts';
import { IN_TOTO_STATEMENT_TYPE, signStatement } from '../../supply-chain/signing/index.ts';
import { httpCall } from '../support/http-call.ts';
import { exampleSpecYaml } from '../support/model-catalog.ts';
import { repoPath } from '../support/paths.ts';

export const TOKEN = 'test-admin-token-0123456789';

const sha256 = (data: string | Uint8Array) => createHash('sha256').update(data).digest('hex');

/** A temporary directory and its removal. */
export async function scratchDir(): Promise<{ path: string; remove: () => Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), 'modelship-serving-'));
  return { path, remove: () => rm(path, { recursive: true, force: true }) };
}

export interface BundleOptions {
  /** Parent directory; the bundle goes into `<root>/<model>-<version>`. */
  root: string;
  /** Committed iris version (`v1`, `v2`, `bad-disagree`, ...) whose model.onnx to copy. */
  version: string;
  /** The spec's metadata.name (default iris). */
  model?: string;
  /** Model bytes instead of a committed model (the spec then declares the fragile interface). */
  onnx?: Uint8Array;
  /** The spec's `interface` block (YAML, indented by 4) for hand-made models with another interface. */
  interface?: string;
  /** The manifest's `referenceProfile` (what packaging writes from the holdout). */
  profile?: unknown;
  /** Changes the spec text before it is written (constraints on the inputs, say). */
  editSpec?: (spec: string) => string;
}

const FRAGILE_INTERFACE = `    inputs: [{ name: input, dtype: float32, shape: [-1, 4] }]
    outputs:
      - { name: label, dtype: int64, shape: [-1] }
      - { name: probabilities, dtype: float32, shape: [-1, 4] }
`;

function handMadeSpec(model: string, digest: string, iface = FRAGILE_INTERFACE): string {
  return `apiVersion: modelship.dev/v1
kind: ModelDeployment
metadata: { name: ${model}, owners: [ml-platform] }
spec:
  model: { source: models/${model}/model.onnx, sha256: ${digest} }
  interface:
${iface}  validation:
    holdout: { path: models/iris/holdout.csv }
    metrics: {}
  rollout:
    environment: staging
    steps: [{ setWeight: 100 }]
`;
}

/** Writes a bundle directory (model.onnx, spec.yaml, manifest.json with file digests); returns its path. */
export async function makeBundle(options: BundleOptions): Promise<string> {
  const model = options.model ?? 'iris';
  const dir = join(options.root, `${model}-${options.version}`);
  await mkdir(dir, { recursive: true });
  let spec: string;
  if (options.onnx) {
    await writeFile(join(dir, 'model.onnx'), options.onnx);
    spec = handMadeSpec(model, sha256(options.onnx), options.interface);
  } else {
    await copyFile(repoPath(`models/iris/${options.version}/model.onnx`), join(dir, 'model.onnx'));
    spec = exampleSpecYaml({ dataset: 'iris', version: options.version, name: model });
  }
  if (options.editSpec) spec = options.editSpec(spec);
  await writeFile(join(dir, 'spec.yaml'), spec);
  const files = [
    { path: 'model.onnx', sha256: sha256(await readFile(join(dir, 'model.onnx'))) },
    { path: 'spec.yaml', sha256: sha256(spec) },
  ];
  const digest = sha256(files.map((file) => `${file.path}\t${file.sha256}\n`).join(''));
  const profile = options.profile === undefined ? {} : { referenceProfile: options.profile };
  await writeFile(
    join(dir, 'manifest.json'),
    JSON.stringify({ schemaVersion: 1, digest, files, ...profile }, null, 2),
  );
  return dir;
}

/** A running server with an admin client; `close` stops it. */
export interface TestServer {
  server: ServingServer;
  url: string;
  admin: AdminClient;
  close(): Promise<void>;
}

export async function startTestServer(options: ServingServerOptions = {}): Promise<TestServer> {
  const server = await startServingServer({ adminToken: TOKEN, ...options });
  const admin = createAdminClient({ baseUrl: server.url, token: options.adminToken ?? TOKEN });
  return { server, url: server.url, admin, close: () => server.close() };
}

/** A response as the tests look at it. */
export interface Reply {
  status: number;
  headers: Headers;
  body: unknown;
  text: string;
}

/** Any HTTP call; the body is sent as is when a string, as JSON otherwise. */
export async function call(
  url: string,
  init: { method?: string; body?: unknown; headers?: Record<string, string> } = {},
): Promise<Reply> {
  const body =
    init.body === undefined || typeof init.body === 'string' ? init.body : JSON.stringify(init.body);
  const { status, headers, text } = await httpCall(url, {
    method: init.method ?? (body === undefined ? 'GET' : 'POST'),
    headers: { 'content-type': 'application/json', ...init.headers },
    ...(body === undefined ? {} : { body }),
  });
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  return { status, headers, body: parsed, text };
}

/** An infer request body for iris rows. */
export function irisRequest(rows: number[][], extra: Record<string, unknown> = {}) {
  return {
    inputs: [{ name: 'input', shape: [rows.length, 4], datatype: 'FP32', data: rows.flat() }],
    ...extra,
  };
}

/** POST /v2/models/{model}/infer. */
export function infer(url: string, model: string, body: unknown, headers: Record<string, string> = {}) {
  return call(`${url}/v2/models/${model}/infer`, { body, headers });
}

/** The iris holdout: feature rows and labels. */
export async function irisHoldout(): Promise<{ rows: number[][]; labels: number[] }> {
  const lines = (await readFile(repoPath('models/iris/holdout.csv'), 'utf8')).trim().split('\n').slice(1);
  const parsed = lines.map((line) => line.split(',').map(Number));
  return {
    rows: parsed.map((values) => values.slice(0, 4)),
    labels: parsed.map((values) => values[4] ?? -1),
  };
}

export interface OutputTensor {
  name: string;
  datatype: string;
  shape: number[];
  data: unknown[];
}

/** The `outputs` of an infer response body. */
export function outputsOf(reply: Reply): OutputTensor[] {
  return (reply.body as { outputs: OutputTensor[] }).outputs;
}

/** Waits until `check` returns true, polling; fails after `timeoutMs`. */
export async function eventually(check: () => Promise<boolean> | boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  // Quick at first, for what holds within milliseconds; then slower, because some checks are a
  // Temporal query or a database read, and a rollout waited on at 50 a second for half a minute
  // costs the server, the worker and every test beside it more than the wait itself.
  let pauseMs = 20;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, pauseMs));
    pauseMs = Math.min(pauseMs * 1.5, 250);
  }
}

/**
 * A bundle of iris `version` with a BOM statement about its model bytes signed by
 * `privateKeyPem`, pushed as an OCI artifact (evidence as its referrer) to the environment's
 * store under `home` (the embedded layout), as `package` publishes one; resolves with the
 * bundle's manifest digest, what desired state names.
 */
export async function publishSignedBundle(options: {
  home: string;
  environment: string;
  version: string;
  privateKeyPem: string;
}): Promise<string> {
  const dir = await makeBundle({ root: join(options.home, 'made'), version: options.version });
  const statement = {
    _type: IN_TOTO_STATEMENT_TYPE,
    subject: [{ name: 'model.onnx', digest: { sha256: sha256(await readFile(join(dir, 'model.onnx'))) } }],
    predicateType: 'https://cyclonedx.org/bom',
    predicate: {},
  };
  await writeFile(
    join(dir, BOM_SIGNATURE_FILE),
    JSON.stringify(await signStatement(statement, options.privateKeyPem)),
  );
  const deployment: DeploymentRef = {
    model: 'iris',
    environment: options.environment,
    commit: 'a'.repeat(40),
    specPath: 'specs/iris.yaml',
    repository: 'https://git.example.com/ml/models.git',
  };
  const manifest = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8')) as { digest: string };
  const stores = bundleStores({ home: options.home });
  return (await publishBundle(stores, { deployment, bundleDir: dir, bundleDigest: manifest.digest })).digest;
}
