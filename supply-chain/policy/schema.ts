/**
 * The `EnvironmentPolicy` file (`policies/<environment>.yaml`): what every model deployed to one
 * environment must satisfy, whatever its spec says. The single source of the policy's types and
 * field documentation; parse through `parsePolicy` in `load.ts`, which adds positions to errors.
 *
 * Every block is optional: an absent field imposes nothing, so a file holding only `rollout:` is
 * a complete policy and the empty policy is the permissive one.
 */
import { z } from 'zod';
import { checkRepoPath } from '../../specs/locations.ts';
import { API_VERSION, dnsLabel, duration, fraction, KeyName } from '../../specs/schema.ts';

export { API_VERSION };
/** The `kind` of a policy file. */
export const POLICY_KIND = 'EnvironmentPolicy';
/** Where an environment's policy lives, relative to the repository root. */
export const POLICY_DIR = 'policies';

/** `policies/production.yaml` for `production`. */
export function policyPath(environment: string): string {
  return `${POLICY_DIR}/${environment}.yaml`;
}

// The same grammar as spec.rollout.environment and spec.security.signedBy, which name what a
// policy describes: a name the spec accepts is a name a policy accepts.
const keyName = KeyName;

const repoPath = z
  .string()
  .min(1)
  .superRefine((path, ctx) => {
    const problem = checkRepoPath(path);
    if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
  });

const Signatures = z
  .strictObject({
    trustedKeys: z
      .record(keyName, repoPath.describe('Repository path of the PEM public key.'))
      .default({})
      .describe(
        'The only keys this environment trusts, by name: each maps to the repository path of its PEM public key.',
      ),
    required: z
      .array(keyName)
      .default([])
      .describe('Keys that must have signed every model deployed here; each must be a trusted key.'),
  })
  .superRefine(({ trustedKeys, required }, ctx) => {
    for (const [index, key] of required.entries()) {
      if (!Object.hasOwn(trustedKeys, key)) {
        const trusted = Object.keys(trustedKeys);
        ctx.addIssue({
          code: 'custom',
          path: ['required', index],
          message: `"${key}" is not in signatures.trustedKeys (${trusted.length > 0 ? trusted.join(', ') : 'none'}): a required key must be trusted`,
        });
      }
    }
  })
  .describe('Which keys the environment trusts and which must have signed the model.');

/**
 * A URI prefix must end at a path boundary: `https://models.example.com` would also admit
 * `https://models.example.com.attacker.test/`.
 */
const SourcePattern = z
  .string()
  .min(1)
  .superRefine((pattern, ctx) => {
    const isUri = /^[a-z][a-z0-9+.-]*:\/\//i.test(pattern);
    if (isUri && !/[*?]/.test(pattern) && !/^[a-z][a-z0-9+.-]*:\/\/[^/]+\/.*/i.test(pattern)) {
      ctx.addIssue({
        code: 'custom',
        message: 'a URI prefix must include the host and a "/" after it, e.g. https://models.example.com/',
      });
    }
    if (!isUri && (pattern.startsWith('/') || pattern.split('/').includes('..'))) {
      ctx.addIssue({
        code: 'custom',
        message: 'a repository pattern is relative to the repository root and stays inside it',
      });
    }
  })
  .describe(
    'A repository path glob (`models/**`, `models/*/v2/model.onnx`) or a URI prefix (`https://models.example.com/`).',
  );

const Artifacts = z
  .strictObject({
    allowedSources: z
      .array(SourcePattern)
      .default([])
      .describe(
        'Where models may come from; a spec whose model.source matches none is refused. Empty: anywhere.',
      ),
  })
  .describe('Where model files may come from.');

const MinThreshold = z.strictObject({
  min: fraction.describe(
    'The lowest threshold a spec may declare, and the lowest value a model may measure.',
  ),
});
const MaxLatency = z.strictObject({
  max: duration.describe('The highest latency a spec may allow, and the highest a model may measure.'),
});

const Validation = z
  .strictObject({
    accuracy: MinThreshold.optional().describe('Holdout accuracy every spec must require, at least.'),
    f1Macro: MinThreshold.optional().describe('Holdout macro F1 every spec must require, at least.'),
    latencyP50: MaxLatency.optional().describe('Median latency every spec must cap, at most.'),
    latencyP99: MaxLatency.optional().describe('p99 latency every spec must cap, at most.'),
  })
  .describe(
    'Offline validation floors: each spec must declare the metric with a threshold at least as strict, and the measured value must meet the policy.',
  );

const Rollout = z
  .strictObject({
    maxFirstCanaryWeight: z
      .int()
      .min(1, 'must be between 1 and 100')
      .max(100, 'must be between 1 and 100')
      .optional()
      .describe('The highest weight the first setWeight above 0 may send to a candidate, in percent.'),
    minAnalysisDuration: duration
      .optional()
      .describe(
        'The least time, summed over the analysis steps before setWeight 100, that live traffic is judged.',
      ),
    requiredApprovers: z
      .array(z.string().min(1).describe('A person or team handle.'))
      .min(1, 'name at least one approver, or leave the field out')
      .optional()
      .describe(
        'Handles that must each approve before full weight: each needs an approval step of their own (only them as approvers) before setWeight 100.',
      ),
    fourEyes: z
      .boolean()
      .optional()
      .describe(
        "The commit's author cannot approve their own change, and an approval step must come before setWeight 100. Default: true in production, false elsewhere.",
      ),
  })
  .describe('Limits on the rollout steps a spec may declare.');

const Scan = z
  .strictObject({
    allowedDomains: z
      .array(z.string().describe('An ONNX operator domain; "" is the default domain.'))
      .optional()
      .describe('Operator domains model nodes may use.'),
    maxNodes: z.int().positive().optional().describe('Most nodes, over all graphs of the model.'),
    maxGraphDepth: z.int().positive().optional().describe('Deepest nesting of subgraphs.'),
    maxBytes: z.int().positive().optional().describe('Largest model file, in bytes.'),
    maxTensorBytes: z.int().positive().optional().describe('Largest single tensor, in bytes.'),
    maxExternalDataBytes: z
      .int()
      .min(0, 'must be 0 or more')
      .optional()
      .describe('Most bytes all external-data tensors together may bring in; 0 refuses external data.'),
  })
  .describe('Limits for the scan step (read by the scan, not judged by the policy rules).');

/**
 * Where an issuer's signing keys are: an `https://` JWKS URL (plain `http://` only on the
 * loopback interface, for tests and local identity providers), or a JWKS file in the repository.
 */
const JwksLocation = z
  .string()
  .min(1)
  .superRefine((location, ctx) => {
    if (/^https:\/\/[^/]+/i.test(location)) return;
    if (/^http:\/\/(127\.0\.0\.1|localhost|\[::1\])(:\d+)?\//i.test(location)) return;
    if (/^[a-z][a-z0-9+.-]*:/i.test(location)) {
      ctx.addIssue({
        code: 'custom',
        message: 'a JWKS URL must be https:// (http:// only on 127.0.0.1 or localhost), or a repository path',
      });
      return;
    }
    const problem = checkRepoPath(location);
    if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
  })
  .describe("The issuer's JSON Web Key Set: an https:// URL, or the repository path of a JWKS file.");

const Issuer = z
  .strictObject({
    issuer: z.url().describe('The `iss` claim tokens must carry, exactly.'),
    audience: z.string().min(1).describe('The `aud` tokens must be issued for (e.g. `modelship`).'),
    jwks: JwksLocation,
    claim: z
      .string()
      .min(1)
      .default('email')
      .describe('The claim that names the person: `email` for most SSO, `actor` for GitHub Actions.'),
    requireNonce: z
      .boolean()
      .default(true)
      .describe(
        "An approval's token must carry the statement's digest as its `nonce`, binding it to that one approval. Turn off only for issuers that cannot set a nonce; such tokens must then be at most `maxTokenAge` old and are accepted once.",
      ),
    maxTokenAge: duration
      .default('10m')
      .describe('The oldest (by `iat`) a token may be when it is presented.'),
  })
  .describe('An OpenID Connect issuer this environment trusts.');

const Approver = z
  .strictObject({
    publicKey: repoPath
      .optional()
      .describe(
        'Repository path of the PEM public key whose signature proves this approver (`modelship keygen`).',
      ),
    identities: z
      .array(z.string().min(1))
      .default([])
      .describe(
        "The names a trusted issuer's token gives this person (an email, a GitHub login); a token naming one of them proves this approver.",
      ),
  })
  .describe('One person (or role) who may approve, and how they prove it.');

const Origin = z
  .strictObject({
    required: z
      .boolean()
      .optional()
      .describe(
        'A deployment must present a verified OIDC token of who started it (`apply` in GitHub Actions does). Default: true in production.',
      ),
    issuers: z
      .array(keyName)
      .optional()
      .describe('Which of `identity.issuers` may vouch for an origin. Default: all of them.'),
    repositories: z
      .array(z.string().min(1))
      .optional()
      .describe(
        "The only repositories (`owner/name`, the token's `repository` claim) deployments may come from.",
      ),
  })
  .describe('Who started a deployment, proven rather than taken from the commit.');

const Identity = z
  .strictObject({
    issuers: z
      .record(keyName, Issuer)
      .default({})
      .describe('OIDC issuers this environment trusts, by name (company SSO, GitHub Actions).'),
    approvers: z
      .record(z.string().min(1), Approver)
      .default({})
      .describe('People who may approve here, by the name approval steps list, with their proof.'),
    unsignedApprovals: z
      .enum(['allow', 'refuse'])
      .optional()
      .describe(
        'Whether an approval without proof (`--as NAME` only) counts. Default: refuse in production and wherever approvers or issuers are named.',
      ),
    origin: Origin.prefault({}),
  })
  .superRefine(({ issuers, origin }, ctx) => {
    for (const [index, name] of (origin.issuers ?? []).entries()) {
      if (!Object.hasOwn(issuers, name)) {
        ctx.addIssue({
          code: 'custom',
          path: ['origin', 'issuers', index],
          message: `"${name}" is not in identity.issuers (${Object.keys(issuers).join(', ') || 'none'})`,
        });
      }
    }
  })
  .describe("How people prove who they are: approvers, trusted OIDC issuers, and the deployment's origin.");

/** A whole policy file; parses plain data into an `EnvironmentPolicy` with defaults applied. */
const Reconcile = z
  .strictObject({
    gitDrift: z
      .enum(['report', 'apply'])
      .default('report')
      .describe(
        'What `modelship reconcile` (and its schedule) does when Git and the deployments disagree: `report` the drift, or `apply` it: start the rollout of each spec at head that is not deployed, and retire deployments no spec declares. Data-plane drift is always repaired.',
      ),
  })
  .describe('How reconcile treats drift between Git and what is deployed in this environment.');

const Privacy = z
  .strictObject({
    holdout: z
      .enum(['refuse', 'allow'])
      .default('refuse')
      .describe(
        'What validation does when the holdout holds personal data (emails, phone numbers, card numbers, national or bank identifiers; `supply-chain/privacy/`): `refuse` fails validation with PersonalDataFound, `allow` records the findings, masked, in the validation report and goes on. Allow only for a holdout that must carry such columns and may.',
      ),
  })
  .describe('Personal data in the files validation reads.');

/** The policy's privacy block, defaults applied. */
export type PrivacyPolicy = z.output<typeof Privacy>;
/** `refuse` or `allow`: what validation does with personal data in the holdout. */
export type HoldoutPrivacy = PrivacyPolicy['holdout'];

export const EnvironmentPolicySchema = z
  .strictObject({
    apiVersion: z.literal(API_VERSION).describe(`Policy language version; always ${API_VERSION}.`),
    kind: z.literal(POLICY_KIND).describe(`Document kind; always ${POLICY_KIND}.`),
    metadata: z
      .strictObject({
        environment: dnsLabel.describe('The environment this policy governs; the file is named after it.'),
        description: z.string().optional().describe('Why the policy is what it is, for people.'),
      })
      .describe('Which environment.'),
    signatures: Signatures.prefault({}),
    artifacts: Artifacts.prefault({}),
    validation: Validation.prefault({}),
    rollout: Rollout.prefault({}),
    scan: Scan.prefault({}),
    identity: Identity.prefault({}),
    reconcile: Reconcile.prefault({}),
    privacy: Privacy.prefault({}),
  })
  // Production has always refused self-approval (domain/approval.ts); a production policy
  // that says nothing about four eyes keeps that, so plan judges what the workflow enforces.
  // Production also refuses unproven approvals and unproven origins unless its policy says
  // otherwise, and so does any environment whose policy names who may approve.
  .transform((policy) => {
    const production = policy.metadata.environment === 'production';
    const { identity } = policy;
    const namesPeople =
      Object.keys(identity.approvers).length > 0 || Object.keys(identity.issuers).length > 0;
    return {
      ...policy,
      rollout: { ...policy.rollout, fourEyes: policy.rollout.fourEyes ?? production },
      identity: {
        ...identity,
        unsignedApprovals: identity.unsignedApprovals ?? (production || namesPeople ? 'refuse' : 'allow'),
        origin: { ...identity.origin, required: identity.origin.required ?? production },
      },
    };
  })
  .describe('The rules every model deployment to one environment must satisfy.');

/** A policy as written in YAML, before defaults. */
export type EnvironmentPolicyInput = z.input<typeof EnvironmentPolicySchema>;
/** A parsed policy, defaults applied. */
export type EnvironmentPolicy = z.output<typeof EnvironmentPolicySchema>;
/**
 * The scan step's limits, as the policy states them (absent fields keep the scan's defaults);
 * the fields are those of `ScanLimits` in `model/limits.ts`.
 */
export type ScanPolicy = EnvironmentPolicy['scan'];

/** The policy of an environment without a policy file: nothing beyond what the workflow always enforces. */
export function defaultPolicy(environment: string): EnvironmentPolicy {
  return EnvironmentPolicySchema.parse({
    apiVersion: API_VERSION,
    kind: POLICY_KIND,
    metadata: { environment },
  });
}
