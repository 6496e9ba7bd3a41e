/**
 * `plan` (and so `apply`) judges the release gates DeployModel applies first, on a real audit log:
 * a quarantined artifact is an error at its `spec.model.sha256` line, `spec.promotion` shows the
 * evidence a reviewer reads (or the error when the artifact did not pass), a log whose chain was
 * forged clears nothing, and without a log the plan says what it could not check.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openAuditStore } from '../../audit/open.ts';
import type { AuditStore } from '../../audit/store.ts';
import { buildPlan, type SpecPlan } from '../../gitops/plan.ts';
import { renderPlanMarkdown } from '../../gitops/plan-markdown.ts';
import { verifiedRecordsOf } from '../../release/verified-records.ts';
import { formatSpecError } from '../../specs/errors.ts';
import { tamper } from '../audit/helpers.ts';
import type { TempRepo } from '../support/git-repo.ts';
import { committedDigest } from '../support/model-catalog.ts';
import { createModelRepo, exampleSpecYaml, readerOf } from './helpers.ts';

const V1 = committedDigest('models/iris/v1/model.onnx');
const V2 = committedDigest('models/iris/v2/model.onnx');
let repo: TempRepo;
let home: string;
let audit: AuditStore;
let base: string;

beforeAll(async () => {
  repo = await createModelRepo();
  await repo.write('README.md', 'models\n');
  base = await repo.commit('start');
  home = await mkdtemp(join(tmpdir(), 'modelship-plan-release-'));
  audit = await openAuditStore(home);
});

afterAll(async () => {
  await audit?.close();
  await repo?.remove();
  await rm(home, { recursive: true, force: true });
});

/** Appends a decision as DeployModel or MonitorModel records it, `hoursAgo` before now. */
async function decide(step: string, environment: string, hoursAgo: number, details: Record<string, unknown>) {
  await audit.append({
    time: new Date(Date.now() - hoursAgo * 3_600_000).toISOString(),
    kind: 'workflow.decision',
    model: 'iris',
    environment,
    commit: 'c'.repeat(40),
    workflowId: `deploy/${environment}/iris`,
    runId: `run-${step}-${hoursAgo}`,
    step,
    actor: 'workflow',
    details,
  });
}

async function planFor(spec: string): Promise<SpecPlan> {
  await repo.write('specs/iris.yaml', spec);
  const head = await repo.commit('iris to staging');
  const { plan } = await buildPlan({
    reader: await readerOf(repo),
    base,
    head,
    release: (model) => verifiedRecordsOf(audit, model),
  });
  const found = plan.specs.find((entry) => entry.path === 'specs/iris.yaml');
  if (!found) throw new Error('no plan for specs/iris.yaml');
  return found;
}

const staging = (version: 'v1' | 'v2', promotion = '') =>
  exampleSpecYaml({ dataset: 'iris', version, environment: 'staging', analysis: promotion });

describe('plan and the release gates', () => {
  it('shows the evidence that v1 passed dev, and refuses v2 which never served there', async () => {
    await decide('analysis.pass', 'dev', 30, { step: 2, summary: 'pass: 0 errors' });
    await decide('deployment.promoted', 'dev', 30, { version: 'aaaaaaaaaaaa', artifactSha256: V1 });
    const promotion = '  promotion:\n    from: dev\n    minSoak: 24h\n';

    const passed = await planFor(staging('v1', promotion));
    expect(passed.verdict).toBe('ok');
    expect(passed.promotion).toMatchObject({ from: 'dev', passed: true });
    const markdown = renderPlanMarkdown({
      base,
      head: 'h'.repeat(40),
      specsDir: 'specs',
      summary: { changed: 1, ok: 1, invalid: 0, removed: 0 },
      specs: [passed],
    });
    expect(markdown).toContain('promotion: passed dev: version aaaaaaaaaaaa promoted there');
    expect(markdown).toContain('soaked 1d 6h');

    const refused = await planFor(staging('v2', promotion));
    expect(refused.verdict).toBe('invalid');
    const error = refused.errors.find((e) => e.rule === 'promotion');
    expect(error && formatSpecError(error)).toMatch(
      /^specs\/iris\.yaml:\d+:\d+ {2}spec\.promotion\.from: staging takes only what passed dev: model iris artifact sha256:[0-9a-f]{12} never served all traffic in dev/,
    );
  });

  it('refuses a quarantined artifact at its sha256 line', async () => {
    await decide('deployment.rolled-back', 'staging', 2, {
      artifactSha256: V2,
      verdict: 'fail',
      reason: 'error rate 9 % against 1 %',
    });
    const refused = await planFor(staging('v2'));
    expect(refused.verdict).toBe('invalid');
    const error = refused.errors.find((e) => e.rule === 'quarantine');
    expect(error?.path).toBe('spec.model.sha256');
    expect(error?.message).toContain('is quarantined: its canary was rolled back in staging');
  });

  it('clears nothing on a log whose chain was forged', async () => {
    await audit.close();
    // Someone with the file turns the rollback into a harmless note: the quarantine would be gone.
    tamper(
      join(home, 'audit.db'),
      `UPDATE audit_log SET step = 'deployment.noted' WHERE step = 'deployment.rolled-back'`,
    );
    audit = await openAuditStore(home);
    const refused = await planFor(staging('v2'));
    expect(refused.verdict).toBe('invalid');
    expect(refused.errors.find((e) => e.rule === 'release')?.message).toContain('does not verify');
  });

  it('says what it could not check without an audit log', async () => {
    await repo.write('specs/iris.yaml', staging('v1', '  promotion:\n    from: dev\n'));
    const head = await repo.commit('no log here');
    const { plan } = await buildPlan({ reader: await readerOf(repo), base, head });
    expect(plan.specs[0]?.notes.join('\n')).toContain(
      'not checked here: no audit log (set MODELSHIP_AUDIT_URL)',
    );
  });
});
