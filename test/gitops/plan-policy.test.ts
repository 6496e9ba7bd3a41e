/**
 * `plan` with environment policies, on real temporary repositories: the verdicts a reviewer
 * reads per rule, a failing rule refusing the spec (and `apply` with it), the policy and key
 * files read at head, and the plain "no policy" line for an environment without a file.
 */
import { generateKeyPairSync } from 'node:crypto';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { applyChanges } from '../../gitops/apply.ts';
import { buildPlan, type Plan, type SpecPlan } from '../../gitops/plan.ts';
import { renderPlanMarkdown } from '../../gitops/plan-markdown.ts';
import { formatSpecError } from '../../specs/errors.ts';
import type { TempRepo } from '../support/git-repo.ts';
import { createModelRepo, exampleSpecYaml, modelship, readerOf, withNamedCommits } from './helpers.ts';

let repo: TempRepo;
let base: string;
let head: string;

const PRODUCTION = `apiVersion: modelship.dev/v1
kind: EnvironmentPolicy
metadata:
  environment: production
artifacts:
  allowedSources: ["models/**"]
validation:
  accuracy: { min: 0.8 }
rollout:
  maxFirstCanaryWeight: 10
  fourEyes: false
`;

/** Staging allows what production does not: a first canary of half the traffic. */
const STAGING = `apiVersion: modelship.dev/v1
kind: EnvironmentPolicy
metadata:
  environment: staging
rollout:
  maxFirstCanaryWeight: 50
`;

/** The same deployment of iris v2, with a first canary of `weight` %, to `environment`. */
function irisSpec(
  environment: string,
  weight: number,
  extra: Partial<Parameters<typeof exampleSpecYaml>[0]> = {},
) {
  return exampleSpecYaml({
    dataset: 'iris',
    version: 'v2',
    environment,
    steps: [`setWeight: ${weight}`, 'analysis: { duration: 1m }', 'setWeight: 100'],
    ...extra,
  });
}

async function plan(from: string, to: string): Promise<Plan> {
  return (await buildPlan({ reader: await readerOf(repo), base: from, head: to })).plan;
}

function specAt(result: Plan, path: string): SpecPlan {
  const found = result.specs.find((spec) => spec.path === path);
  if (found === undefined) throw new Error(`${path} is not in the plan`);
  return found;
}

beforeAll(async () => {
  repo = await createModelRepo();
  await repo.write('policies/production.yaml', PRODUCTION);
  await repo.write('policies/staging.yaml', STAGING);
  await repo.write('specs/iris-prod.yaml', irisSpec('production', 10));
  await repo.write('specs/iris-staging.yaml', irisSpec('staging', 10));
  await repo.write('specs/iris-dev.yaml', irisSpec('dev', 10));
  base = await repo.commit('base: three environments, two policies');
  // The pull request: every environment gets a first canary of 50 %.
  for (const environment of ['prod', 'staging', 'dev']) {
    await repo.write(
      `specs/iris-${environment}.yaml`,
      irisSpec(environment === 'prod' ? 'production' : environment, 50),
    );
  }
  head = await repo.commit('head: first canary at 50 %');
});

afterAll(async () => {
  await repo?.remove();
});

describe('plan with policies', () => {
  it('shows each rule verdict and refuses the spec a rule fails', async () => {
    const result = await plan(base, head);
    expect(result.summary).toEqual({ changed: 3, ok: 2, invalid: 1, removed: 0 });

    const production = specAt(result, 'specs/iris-prod.yaml');
    expect(production.verdict).toBe('invalid');
    expect(production.policy).toMatchObject({
      environment: 'production',
      file: 'policies/production.yaml',
      status: 'judged',
    });
    expect(
      production.policy?.results.map(({ rule, passed }) => `${passed ? 'pass' : 'FAIL'} ${rule}`),
    ).toEqual([
      'pass artifacts.allowedSources',
      'pass validation.accuracy',
      'FAIL rollout.maxFirstCanaryWeight',
    ]);
    // The failure is an error of the spec, placed where the weight is written.
    expect(production.errors.map(formatSpecError)).toEqual([
      'specs/iris-prod.yaml:27:20  spec.rollout.steps.0.setWeight: first canary weight 50 % is above the production maximum of 10 % (policies/production.yaml: rollout.maxFirstCanaryWeight)',
    ]);

    const markdown = renderPlanMarkdown(result);
    expect(markdown).toContain(
      '| ❌ | `specs/iris-prod.yaml` | iris → production | invalid: 1 failed policy rule |',
    );
    expect(markdown).toContain(
      '  - ❌ rollout.maxFirstCanaryWeight: first canary weight 50 % is above the production maximum of 10 % (`specs/iris-prod.yaml:27:20`)',
    );
    // The scan's list of checks is the scan's business (plan.test.ts pins it); this file pins the policy's.
    const scanAgnostic = markdown.replace(/^- ✅ scan: .*$/gm, '- ✅ scan: (passed)');
    await expect(withNamedCommits(scanAgnostic, { base, head })).toMatchFileSnapshot(
      '__snapshots__/plan-policy.md',
    );
  });

  it('passes the same spec where the policy allows it', async () => {
    const staging = specAt(await plan(base, head), 'specs/iris-staging.yaml');
    expect(staging.verdict).toBe('ok');
    expect(staging.errors).toEqual([]);
    expect(staging.policy?.results).toEqual([
      expect.objectContaining({
        rule: 'rollout.maxFirstCanaryWeight',
        passed: true,
        reason: 'first canary weight 50 % is within the staging maximum of 50 %',
      }),
    ]);
  });

  it('says no policy applies to an environment without a policy file', async () => {
    const result = await plan(base, head);
    const dev = specAt(result, 'specs/iris-dev.yaml');
    expect(dev.verdict).toBe('ok');
    expect(dev.policy).toEqual({
      environment: 'dev',
      file: 'policies/dev.yaml',
      status: 'none',
      results: [],
    });
    expect(withNamedCommits(renderPlanMarkdown(result), { head })).toContain(
      '- ➖ policy: no `policies/dev.yaml` at `<head>`, so no policy applies',
    );
  });

  it('makes apply refuse what the plan refuses, saying why', async () => {
    const err: string[] = [];
    const report = await applyChanges({
      reader: await readerOf(repo),
      repository: repo.root,
      base,
      head,
      connect: () => Promise.reject(new Error('apply reached for Temporal')),
      taskQueue: 'unused',
      out: () => {},
      err: (line) => err.push(line),
    });
    expect(report.exitCode).toBe(1);
    expect(report.started).toEqual([]);
    expect(err).toEqual([
      expect.stringMatching(/^specs\/iris-prod\.yaml:27:20 .*above the production maximum of 10 %/),
    ]);
  });

  it('exits 1 from the command line with the failing verdict in the comment', async () => {
    const run = await modelship(['plan', '--base', base, '--head', head], repo.root);
    expect(run.code).toBe(1);
    expect(run.stdout).toContain('- ❌ policy `policies/production.yaml`: 1 of 3 rules failed');
  });
});

describe('plan with policies at head', () => {
  let from: string;
  beforeEach(async () => {
    from = (await repo.git.revparse(['HEAD'])).trim();
  });
  afterEach(async () => {
    await repo.git.raw(['reset', '--hard', from]);
  });

  it('judges by the policy at head, so a pull request that loosens the policy passes', async () => {
    await repo.write(
      'policies/production.yaml',
      PRODUCTION.replace('maxFirstCanaryWeight: 10', 'maxFirstCanaryWeight: 50'),
    );
    await repo.write('specs/iris-prod.yaml', irisSpec('production', 50, { minAccuracy: 0.9 }));
    const to = await repo.commit('loosen production, touch the spec');
    const production = specAt(await plan(from, to), 'specs/iris-prod.yaml');
    expect(production.verdict).toBe('ok');
  });

  it('refuses every spec of an environment whose policy file is broken, with the policy positions', async () => {
    await repo.write(
      'policies/production.yaml',
      PRODUCTION.replace('maxFirstCanaryWeight: 10', 'maxFirstCanaryWeight: ten'),
    );
    await repo.write('specs/iris-prod.yaml', irisSpec('production', 5));
    const to = await repo.commit('break the production policy');
    const result = await plan(from, to);
    const production = specAt(result, 'specs/iris-prod.yaml');
    expect(production.verdict).toBe('invalid');
    expect(production.policy?.status).toBe('invalid');
    expect(production.errors.map(formatSpecError)).toEqual([
      'policies/production.yaml:10:25  rollout.maxFirstCanaryWeight: expected a number, got "ten"',
    ]);
    const markdown = renderPlanMarkdown(result);
    expect(markdown).toContain(
      '### ❌ `specs/iris-prod.yaml`: invalid: invalid policy policies/production.yaml',
    );
    expect(markdown).toContain(
      '- ❌ policy `policies/production.yaml`: 1 error in the policy file; nothing deploys to production until it is fixed\n  - `policies/production.yaml:10:25` `rollout.maxFirstCanaryWeight`: expected a number, got "ten"',
    );
  });

  it('requires the trusted key files to exist at head, not in the working tree', async () => {
    const { publicKey } = generateKeyPairSync('ed25519');
    const signing = `signatures:\n  trustedKeys: { release: keys/release.pub }\n  required: [release]\n`;
    await repo.write('policies/production.yaml', `${PRODUCTION}${signing}`);
    await repo.write('specs/iris-prod.yaml', irisSpec('production', 5));
    const to = await repo.commit('trust a key that was never committed');
    await repo.write('keys/release.pub', publicKey.export({ type: 'spki', format: 'pem' }).toString());
    const production = specAt(await plan(from, to), 'specs/iris-prod.yaml');
    expect(production.errors.map(formatSpecError)).toEqual([
      'policies/production.yaml:13:27  signatures.trustedKeys.release: no such file in the repository: keys/release.pub',
    ]);

    // With the key committed, plan verifies the model directory itself: this one is not signed.
    const fixed = await repo.commit('commit the key');
    const unsigned = specAt(await plan(from, fixed), 'specs/iris-prod.yaml');
    expect(unsigned.verdict).toBe('invalid');
    expect(unsigned.policy?.results.find(({ rule }) => rule === 'signatures.required')?.reason).toBe(
      'the model is not signed by release, which production requires (verified: none)',
    );
  });

  it('applies four eyes with the head commit author, as the workflow will', async () => {
    await repo.write('policies/production.yaml', PRODUCTION.replace('fourEyes: false', 'fourEyes: true'));
    // The temporary repository commits as Test Author <author@example.com>.
    const steps = [
      'setWeight: 5',
      'analysis: { duration: 1m }',
      'approval: { approvers: [author] }',
      'setWeight: 100',
    ];
    await repo.write('specs/iris-prod.yaml', irisSpec('production', 5, { steps }));
    const to = await repo.commit('approve my own change');
    const production = specAt(await plan(from, to), 'specs/iris-prod.yaml');
    expect(production.verdict).toBe('invalid');
    expect(production.errors.map((error) => error.message)).toEqual([
      'steps.2 can only be approved by author, the author of this change (Test Author <author@example.com>), who cannot approve it in production: add another approver (policies/production.yaml: rollout.fourEyes)',
    ]);

    await repo.write(
      'specs/iris-prod.yaml',
      irisSpec('production', 5, { steps: steps.with(2, 'approval: { approvers: [author, carol] }') }),
    );
    const reviewed = specAt(await plan(from, await repo.commit('carol reviews')), 'specs/iris-prod.yaml');
    expect(reviewed.verdict).toBe('ok');
  });
});
