/**
 * Reading policy files: errors with positions in the words of spec errors, the file-name check,
 * the permissive default for an environment without a file, and trusted key files read from a
 * real directory (real key pairs made here, so no private key is ever committed).
 */
import { generateKeyPairSync } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatSpecError } from '../../specs/errors.ts';
import { parseSpec } from '../../specs/parse.ts';
import { evaluatePolicy } from '../../supply-chain/policy/evaluate.ts';
import { loadPolicy, type PolicyFileReader, parsePolicy } from '../../supply-chain/policy/load.ts';
import { defaultPolicy } from '../../supply-chain/policy/schema.ts';
import { repoPath } from '../support/paths.ts';

/** A policy file's text: the header, then `body` as written. */
function policyYaml(environment: string, body = ''): string {
  return `apiVersion: modelship.dev/v1\nkind: EnvironmentPolicy\nmetadata:\n  environment: ${environment}\n${body}`;
}

function errorsOf(text: string, environment?: string): string[] {
  const result = parsePolicy(text, {
    file: 'policies/production.yaml',
    ...(environment ? { environment } : {}),
  });
  if (result.ok) throw new Error('expected errors, the policy parsed');
  return result.errors.map(formatSpecError);
}

describe('parsePolicy', () => {
  it('applies the defaults of an empty policy: four eyes, proven approvals and a proven origin only in production', () => {
    const production = parsePolicy(policyYaml('production'));
    expect(production.ok && production.policy).toEqual({
      apiVersion: 'modelship.dev/v1',
      kind: 'EnvironmentPolicy',
      metadata: { environment: 'production' },
      signatures: { trustedKeys: {}, required: [] },
      artifacts: { allowedSources: [] },
      validation: {},
      rollout: { fourEyes: true },
      scan: {},
      identity: { issuers: {}, approvers: {}, unsignedApprovals: 'refuse', origin: { required: true } },
      reconcile: { gitDrift: 'report' },
      privacy: { holdout: 'refuse' },
    });
    expect(defaultPolicy('staging').rollout.fourEyes).toBe(false);
    expect(defaultPolicy('staging').identity).toMatchObject({
      unsignedApprovals: 'allow',
      origin: { required: false },
    });
    // Naming who may approve anywhere means their names alone no longer count.
    const named = parsePolicy(
      policyYaml('staging', 'identity:\n  approvers: { alice: { identities: [alice@example.com] } }\n'),
    );
    expect(named.ok && named.policy.identity.unsignedApprovals).toBe('refuse');
    const optedOut = parsePolicy(policyYaml('production', 'rollout: { fourEyes: false }\n'));
    expect(optedOut.ok && optedOut.policy.rollout.fourEyes).toBe(false);
  });

  it('reports every schema error of a file with file:line:column', () => {
    const text = policyYaml(
      'production',
      `signatures:
  trustedKeys:
    Release Key: keys/release.pub
    ci: /etc/keys/ci.pub
artifacts:
  allowedSources: ["https://models.example.com"]
validation:
  accuracy: { min: 1.5 }
  latencyP99: { max: fast }
rollout:
  maxFirstCanaryWeight: 0
  requiredApprovers: []
  fourEyes: "yes"
  canary: 10
scan:
  maxNodes: -1
`,
    );
    expect(errorsOf(text)).toEqual([
      'policies/production.yaml:7:5  signatures.trustedKeys.Release Key: key "Release Key" must be a key name: lowercase letters, digits, ".", "_" and "-"',
      'policies/production.yaml:8:9  signatures.trustedKeys.ci: must be relative to the repository root, not an absolute path',
      'policies/production.yaml:10:20  artifacts.allowedSources.0: a URI prefix must include the host and a "/" after it, e.g. https://models.example.com/',
      'policies/production.yaml:12:20  validation.accuracy.min: must be between 0 and 1',
      'policies/production.yaml:13:22  validation.latencyP99.max: must be a duration such as 500us, 250ms, 30s, 5m, 2h or 1d',
      'policies/production.yaml:15:25  rollout.maxFirstCanaryWeight: must be between 1 and 100',
      'policies/production.yaml:16:22  rollout.requiredApprovers: name at least one approver, or leave the field out',
      'policies/production.yaml:17:13  rollout.fourEyes: expected true or false, got "yes"',
      'policies/production.yaml:18:3  rollout.canary: unknown field "canary"; expected one of: maxFirstCanaryWeight, minAnalysisDuration, requiredApprovers, fourEyes',
      'policies/production.yaml:20:13  scan.maxNodes: must be greater than 0',
    ]);
  });

  it('says what the header must be', () => {
    expect(errorsOf('apiVersion: v2\nkind: ModelDeployment\nmetadata: {}\nrules: []\n')).toEqual([
      'policies/production.yaml:1:13  apiVersion: must be "modelship.dev/v1"; got "v2"',
      'policies/production.yaml:2:7  kind: must be "EnvironmentPolicy"; got "ModelDeployment"',
      'policies/production.yaml:3:11  metadata.environment: missing required field',
      'policies/production.yaml:4:1  rules: unknown field "rules"; expected one of: apiVersion, kind, metadata, signatures, artifacts, validation, rollout, scan, identity, reconcile, privacy',
    ]);
  });

  it('requires metadata.environment to match the file name', () => {
    expect(errorsOf(policyYaml('staging'), 'production')).toEqual([
      'policies/production.yaml:4:16  metadata.environment: must be "production": the file policies/production.yaml holds the policy of production',
    ]);
  });

  it('refuses a required key the policy does not trust', () => {
    const text = policyYaml(
      'production',
      'signatures:\n  trustedKeys: { release: keys/release.pub }\n  required: [release, ci]\n',
    );
    expect(errorsOf(text)).toEqual([
      'policies/production.yaml:7:23  signatures.required.1: "ci" is not in signatures.trustedKeys (release): a required key must be trusted',
    ]);
  });

  it('speaks of policies, not specs, for empty and multi-document files', () => {
    expect(errorsOf('# nothing yet\n')).toEqual([
      'policies/production.yaml:1:1  empty file: expected one EnvironmentPolicy document',
    ]);
    expect(errorsOf(`${policyYaml('production')}---\n${policyYaml('staging')}`)).toEqual([
      'policies/production.yaml:5:1  a policy file holds one document, found 2',
    ]);
    expect(errorsOf('rollout: [unclosed\n')).toContainEqual(
      expect.stringMatching(/^policies\/production\.yaml:\d+:\d+ {2}invalid YAML: /),
    );
  });

  it('parses the example in policies/README.md, scan limits included', async () => {
    const readme = await readFile(repoPath('policies/README.md'), 'utf8');
    const example = /```yaml\n([\s\S]*?)```/.exec(readme)?.[1] ?? '';
    const result = parsePolicy(example, { file: 'policies/README.md', environment: 'production' });
    expect(result.ok ? [] : result.errors.map(formatSpecError)).toEqual([]);
    expect(result.ok && result.policy.scan).toEqual({
      allowedDomains: ['', 'ai.onnx', 'ai.onnx.ml'],
      maxNodes: 10000,
      maxGraphDepth: 8,
      maxBytes: 104857600,
      maxTensorBytes: 67108864,
      maxExternalDataBytes: 0,
    });
  });

  it('parses the example policies of this repository', async () => {
    for (const environment of ['production', 'staging']) {
      const file = `policies/${environment}.yaml`;
      const result = parsePolicy(await readFile(repoPath(file), 'utf8'), { file, environment });
      expect(result.ok ? [] : result.errors.map(formatSpecError)).toEqual([]);
    }
  });
});

describe('loadPolicy', () => {
  let root: string;
  let reader: PolicyFileReader;
  const write = async (path: string, text: string) => {
    await mkdir(dirname(join(root, path)), { recursive: true });
    await writeFile(join(root, path), text);
  };

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'modelship-policy-'));
    reader = { readFile: (path) => readFile(join(root, path), 'utf8').catch(() => undefined) };
  });
  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('falls back to the default policy, saying so, when the environment has no file', async () => {
    const loaded = await loadPolicy(reader, 'canary-lab');
    expect(loaded).toEqual({
      ok: true,
      origin: 'default',
      file: 'policies/canary-lab.yaml',
      policy: defaultPolicy('canary-lab'),
      keys: {},
      approverKeys: {},
      jwksFiles: {},
    });
  });

  it('reads the trusted public keys the policy names', async () => {
    const { publicKey } = generateKeyPairSync('ed25519');
    const pem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
    await write('keys/release.pub', pem);
    await write(
      'policies/production.yaml',
      policyYaml(
        'production',
        'signatures:\n  trustedKeys: { release: ./keys/release.pub }\n  required: [release]\n',
      ),
    );
    const loaded = await loadPolicy(reader, 'production');
    expect(loaded.ok && loaded.origin).toBe('file');
    expect(loaded.ok && loaded.keys).toEqual({ release: pem });
  });

  it('refuses a policy whose key files are missing, private or not keys', async () => {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    await write('keys/leaked.pem', privateKey.export({ type: 'pkcs8', format: 'pem' }).toString());
    await write('keys/notes.txt', 'the release key is on the shared drive\n');
    await write(
      'policies/staging.yaml',
      policyYaml(
        'staging',
        'signatures:\n  trustedKeys:\n    gone: keys/gone.pub\n    leaked: keys/leaked.pem\n    notes: keys/notes.txt\n',
      ),
    );
    const loaded = await loadPolicy(reader, 'staging');
    expect(loaded.ok ? [] : loaded.errors.map(formatSpecError)).toEqual([
      'policies/staging.yaml:7:11  signatures.trustedKeys.gone: no such file in the repository: keys/gone.pub',
      'policies/staging.yaml:8:13  signatures.trustedKeys.leaked: keys/leaked.pem holds a private key: commit only the public key, and replace this key pair',
      'policies/staging.yaml:9:12  signatures.trustedKeys.notes: keys/notes.txt is not a PEM public key (-----BEGIN PUBLIC KEY-----)',
    ]);
  });

  it("reads approvers' public keys and issuers' JWKS files, refusing missing files, private keys and non-JWKS", async () => {
    const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const pem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
    await write('keys/alice.pub', pem);
    await write('keys/sso.jwks', JSON.stringify({ keys: [publicKey.export({ format: 'jwk' })] }));
    await write('keys/leaky.jwks', JSON.stringify({ keys: [privateKey.export({ format: 'jwk' })] }));
    await write('keys/empty.jwks', '{"keys":[]}');
    const issuer = (jwks: string) =>
      `{ issuer: "https://sso.example.com", audience: modelship, jwks: ${jwks} }`;
    const identity = (issuers: string, approvers: string) =>
      policyYaml('production', `identity:\n  issuers:\n${issuers}  approvers:\n${approvers}`);
    await write(
      'policies/production.yaml',
      identity(`    sso: ${issuer('keys/sso.jwks')}\n`, '    alice: { publicKey: keys/alice.pub }\n'),
    );
    const loaded = await loadPolicy(reader, 'production');
    expect(loaded.ok && loaded.approverKeys).toEqual({ alice: pem });
    expect(loaded.ok && Object.keys(loaded.jwksFiles)).toEqual(['sso']);

    await write(
      'policies/production.yaml',
      identity(
        `    leaky: ${issuer('keys/leaky.jwks')}\n    empty: ${issuer('keys/empty.jwks')}\n    web: ${issuer('"http://sso.example.com/jwks"')}\n`,
        '    bob: { publicKey: keys/bob.pub }\n',
      ),
    );
    const broken = await loadPolicy(reader, 'production');
    expect(broken.ok ? [] : broken.errors.map((error) => `${error.path}: ${error.message}`)).toEqual([
      'identity.issuers.web.jwks: a JWKS URL must be https:// (http:// only on 127.0.0.1 or localhost), or a repository path',
    ]);
    await write(
      'policies/production.yaml',
      identity(
        `    leaky: ${issuer('keys/leaky.jwks')}\n    empty: ${issuer('keys/empty.jwks')}\n`,
        '    bob: { publicKey: keys/bob.pub }\n',
      ),
    );
    const files = await loadPolicy(reader, 'production');
    expect(files.ok ? [] : files.errors.map((error) => `${error.path}: ${error.message}`)).toEqual([
      'identity.issuers.leaky.jwks: holds a private key (a JWK with "d"): commit only the public keys',
      'identity.issuers.empty.jwks: is not a JSON Web Key Set: expected {"keys":[…]} with at least one key',
      'identity.approvers.bob.publicKey: no such file in the repository: keys/bob.pub',
    ]);
  });

  it('reports a broken policy file instead of falling back to the default', async () => {
    await write('policies/qa.yaml', policyYaml('qa', 'rollout: { maxFirstCanaryWeight: 150 }\n'));
    const loaded = await loadPolicy(reader, 'qa');
    expect(loaded.ok ? [] : loaded.errors.map(formatSpecError)).toEqual([
      'policies/qa.yaml:5:34  rollout.maxFirstCanaryWeight: must be between 1 and 100',
    ]);
  });

  it('never builds a path from an environment that is not a DNS label', async () => {
    await expect(loadPolicy(reader, '../secrets')).rejects.toThrow(
      'invalid environment name "../secrets": expected a DNS label',
    );
  });
});

describe('the example policies', () => {
  it('accept the example specs of their environments', async () => {
    const reader: PolicyFileReader = {
      readFile: (path) => readFile(repoPath(path), 'utf8').catch(() => undefined),
    };
    for (const example of ['iris', 'breast-cancer']) {
      const parsed = parseSpec(await readFile(repoPath(`specs/examples/${example}.yaml`), 'utf8'));
      if (!parsed.ok) throw new Error(`specs/examples/${example}.yaml does not parse`);
      const loaded = await loadPolicy(reader, parsed.spec.spec.rollout.environment);
      if (!loaded.ok) throw new Error(loaded.errors.map(formatSpecError).join('\n'));
      expect(loaded.origin).toBe('file');
      const results = evaluatePolicy(parsed.spec, loaded.policy, {
        commitAuthor: { name: 'Dana Scully', email: 'dana@example.com' },
      });
      expect(results.filter((result) => !result.passed)).toEqual([]);
      expect(results.length).toBeGreaterThan(2);
    }
  });
});
