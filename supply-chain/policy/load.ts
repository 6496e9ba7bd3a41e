/**
 * Reading an environment's policy: YAML with positions (the spec language's `readYaml`), the
 * policy schema, the file-name check, then the trusted key files the policy names. Every error is
 * a `SpecError` (file, line, column, field path), printed like a spec's.
 *
 * `parsePolicy` is pure; `loadPolicy` reads through a reader the caller provides (a commit for
 * `plan`, a checkout for the worker), so this module never touches the working tree on its own.
 */
import { createPublicKey } from 'node:crypto';
import { compareSpecErrors, formatPath, type SpecError } from '../../specs/errors.ts';
import { normalizeRepoPath } from '../../specs/locations.ts';
import { positionOf, readYaml, type SpecSource } from '../../specs/yaml-source.ts';
import { defaultPolicy, type EnvironmentPolicy, POLICY_KIND, policyPath } from './schema.ts';
import { checkPolicySchema } from './schema-issues.ts';

/** Reads a repository file; `undefined` when there is no such file. */
export interface PolicyFileReader {
  readFile(path: string): Promise<string | undefined>;
}

/** Options of `parsePolicy`. */
export interface ParsePolicyOptions {
  /** The name errors report the text under. Default `<input>`. */
  file?: string;
  /** The environment the file is named after; `metadata.environment` must say the same. */
  environment?: string;
}

/** A policy with its document (for positions), or every error found in it. */
export type ParsePolicyResult =
  | { ok: true; policy: EnvironmentPolicy; source: SpecSource }
  | { ok: false; errors: SpecError[] };

/** Parses and checks the text of one policy file. */
export function parsePolicy(text: string, options: ParsePolicyOptions = {}): ParsePolicyResult {
  const file = options.file ?? '<input>';
  const read = readYaml(text, file);
  // readYaml speaks of specs in its two document-count messages; a policy author reads of policies.
  const errors = read.errors.map((error) => ({ ...error, message: policyWording(error.message) }));
  const { source } = read;
  if (source === undefined) return { ok: false, errors };

  const schema = checkPolicySchema(read.data);
  if (!schema.success) {
    for (const { path, message, at } of schema.problems) {
      errors.push({ file, ...positionOf(source, path, at), path: formatPath(path), message });
    }
    return { ok: false, errors: errors.sort(compareSpecErrors) };
  }
  const { environment } = options;
  if (environment !== undefined && schema.data.metadata.environment !== environment) {
    const path = ['metadata', 'environment'];
    errors.push({
      file,
      ...positionOf(source, path),
      path: formatPath(path),
      message: `must be "${environment}": the file ${file} holds the policy of ${environment}`,
      rule: 'policy-environment',
    });
  }
  if (errors.length > 0) return { ok: false, errors: errors.sort(compareSpecErrors) };
  return { ok: true, policy: schema.data, source };
}

function policyWording(message: string): string {
  if (message.startsWith('empty file:')) return `empty file: expected one ${POLICY_KIND} document`;
  return message.replace(
    /^a spec file holds one document, found (\d+).*$/,
    'a policy file holds one document, found $1',
  );
}

/**
 * An environment's policy as loaded: from its file (with the trusted public keys, PEM text by key
 * name), the permissive default when there is no file, or the errors of a file that is broken.
 */
export type LoadedPolicy =
  | {
      ok: true;
      origin: 'file' | 'default';
      file: string;
      policy: EnvironmentPolicy;
      keys: Record<string, string>;
      /** PEM public keys of `identity.approvers`, by approver name. */
      approverKeys: Record<string, string>;
      /** JWKS text of the `identity.issuers` whose keys are a repository file, by issuer name. */
      jwksFiles: Record<string, string>;
    }
  | { ok: false; file: string; errors: SpecError[] };

const ENVIRONMENT = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;

/**
 * Loads `policies/<environment>.yaml` through `reader`. No file means the default policy
 * (`origin: 'default'`); a file that does not parse, names another environment, or names a
 * trusted key file that is missing or not a public key is an error, and nothing may deploy to
 * that environment until it is fixed.
 */
export async function loadPolicy(reader: PolicyFileReader, environment: string): Promise<LoadedPolicy> {
  // The environment becomes part of a path: only a DNS label (as specs require) may.
  if (!ENVIRONMENT.test(environment) || environment.length > 63) {
    throw new Error(`invalid environment name "${environment}": expected a DNS label`);
  }
  const file = policyPath(environment);
  const text = await reader.readFile(file);
  if (text === undefined) return loadedDefaultPolicy(environment);
  const parsed = parsePolicy(text, { file, environment });
  if (!parsed.ok) return { ok: false, file, errors: parsed.errors };

  const keys: Record<string, string> = {};
  const errors: SpecError[] = [];
  for (const [name, path] of Object.entries(parsed.policy.signatures.trustedKeys)) {
    const where = ['signatures', 'trustedKeys', name];
    const fail = (message: string) =>
      errors.push({
        file,
        ...positionOf(parsed.source, where),
        path: formatPath(where),
        message,
        rule: 'trusted-key-file',
      });
    const keyFile = normalizeRepoPath(path) ?? path;
    const pem = await reader.readFile(keyFile);
    if (pem === undefined) {
      fail(`no such file in the repository: ${keyFile}`);
      continue;
    }
    const problem = publicKeyProblem(pem);
    if (problem !== undefined) fail(`${keyFile} ${problem}`);
    else keys[name] = pem;
  }
  const approverKeys: Record<string, string> = {};
  for (const [name, approver] of Object.entries(parsed.policy.identity.approvers)) {
    if (approver.publicKey === undefined) continue;
    const where = ['identity', 'approvers', name, 'publicKey'];
    const keyFile = normalizeRepoPath(approver.publicKey) ?? approver.publicKey;
    const pem = await reader.readFile(keyFile);
    const problem = pem === undefined ? 'no such file in the repository' : publicKeyProblem(pem);
    if (problem !== undefined || pem === undefined) {
      const message = pem === undefined ? `${problem}: ${keyFile}` : `${keyFile} ${problem}`;
      errors.push({
        file,
        ...positionOf(parsed.source, where),
        path: formatPath(where),
        message,
        rule: 'approver-key-file',
      });
    } else approverKeys[name] = pem;
  }
  const jwksFiles: Record<string, string> = {};
  for (const [name, issuer] of Object.entries(parsed.policy.identity.issuers)) {
    if (/^https?:\/\//i.test(issuer.jwks)) continue;
    const where = ['identity', 'issuers', name, 'jwks'];
    const jwksFile = normalizeRepoPath(issuer.jwks) ?? issuer.jwks;
    const text = await reader.readFile(jwksFile);
    const problem = text === undefined ? `no such file in the repository: ${jwksFile}` : jwksProblem(text);
    if (problem !== undefined || text === undefined) {
      errors.push({
        file,
        ...positionOf(parsed.source, where),
        path: formatPath(where),
        message: problem ?? 'unreadable',
        rule: 'jwks-file',
      });
    } else jwksFiles[name] = text;
  }
  if (errors.length > 0) return { ok: false, file, errors: errors.sort(compareSpecErrors) };
  return { ok: true, origin: 'file', file, policy: parsed.policy, keys, approverKeys, jwksFiles };
}

/** What is wrong with a JWKS file's text, or `undefined` for a set of public keys. */
function jwksProblem(text: string): string | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return 'is not JSON: expected a JSON Web Key Set ({"keys":[…]})';
  }
  const keys = (parsed as { keys?: unknown } | null)?.keys;
  if (!Array.isArray(keys) || keys.length === 0)
    return 'is not a JSON Web Key Set: expected {"keys":[…]} with at least one key';
  // A private JWK carries "d": a signing key in the repository is a leak, not a key to trust.
  if (keys.some((key) => typeof key === 'object' && key !== null && 'd' in key)) {
    return 'holds a private key (a JWK with "d"): commit only the public keys';
  }
  return undefined;
}

/** The default policy of `environment`, as `loadPolicy` returns it when there is no policy file. */
export function loadedDefaultPolicy(environment: string): Extract<LoadedPolicy, { ok: true }> {
  return {
    ok: true,
    origin: 'default',
    file: policyPath(environment),
    policy: defaultPolicy(environment),
    keys: {},
    approverKeys: {},
    jwksFiles: {},
  };
}

/** What is wrong with a trusted key file's text, or `undefined` for a PEM public key. */
function publicKeyProblem(pem: string): string | undefined {
  // createPublicKey accepts a private key too (it derives the public half): a private key in the
  // repository is a leak to report, not a key to trust.
  if (/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(pem)) {
    return 'holds a private key: commit only the public key, and replace this key pair';
  }
  try {
    createPublicKey({ key: pem, format: 'pem' });
    return undefined;
  } catch {
    return 'is not a PEM public key (-----BEGIN PUBLIC KEY-----)';
  }
}
