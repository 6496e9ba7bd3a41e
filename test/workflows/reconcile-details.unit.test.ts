/** What people read about a reconcile pass: the Web UI's details and the CLI's report. */
import { describe, expect, it } from 'vitest';
import { MAX_DETAILS_BYTES } from '../../audit/record.ts';
import { renderReport } from '../../cli/commands/reconcile.ts';
import { canonicalJson } from '../../domain/canonical-json.ts';
import type { ReconcileReport } from '../../domain/reconcile.ts';
import { reconcileAuditDetails, renderReconcileDetails } from '../../workflows/reconcile-details.ts';

const report: ReconcileReport = {
  environment: 'staging',
  commit: '0123456789abcdef0123',
  generation: 7,
  findings: [
    {
      kind: 'not-deployed',
      layer: 'git',
      model: 'iris',
      message: 'specs/iris.yaml at 0123456789ab was never deployed',
    },
    {
      kind: 'not-served',
      layer: 'data-plane',
      model: 'iris',
      message: "iris: Temporal's last run left v2 stable, but the data plane does not route it at all",
      repair: { action: 'serve-stable', model: 'iris', version: 'v2' },
    },
    {
      kind: 'stale-rollout',
      layer: 'data-plane',
      model: 'wine',
      message: 'wine: canary w3 still routed, but no rollout is running',
      repair: { action: 'end-rollout', model: 'wine' },
    },
  ],
  repairs: [
    {
      repair: { action: 'serve-stable', model: 'iris', version: 'v2' },
      done: true,
      detail: 'iris: v2 stable again (generation 7)',
    },
    { repair: { action: 'end-rollout', model: 'wine' }, done: false, detail: 'wine: the record refused it' },
  ],
  gitDriftPolicy: 'report',
  convergence: { state: 'done', message: 'every live replica (2) serves generation 7' },
  serving: {},
  remaining: [],
};
report.remaining = [
  report.findings[0] as ReconcileReport['findings'][number],
  report.findings[2] as ReconcileReport['findings'][number],
];

describe('reconcile reports', () => {
  it('shows each finding with what its repair did, in the Web UI', () => {
    const details = renderReconcileDetails(report);
    expect(details).toContain(
      '**Reconcile staging at 0123456789ab**: 2 drift finding(s) left, desired generation 7',
    );
    expect(details).toContain(
      "| data-plane | not-served | iris | iris: Temporal's last run left v2 stable, but the data plane does not route it at all | yes |",
    );
    expect(details).toContain(
      '| data-plane | stale-rollout | wine | wine: canary w3 still routed, but no rollout is running | no: wine: the record refused it |',
    );
    expect(details).toContain('Git drift is reported only (policy `reconcile.gitDrift: report`).');
  });

  it('prints the same on the command line, and what is left', () => {
    const lines = renderReport(report);
    expect(lines).toContain(
      "  drift (data-plane, not-served): iris: Temporal's last run left v2 stable, but the data plane does not route it at all [repaired]",
    );
    expect(lines).toContain(
      '  drift (data-plane, stale-rollout): wine: canary w3 still routed, but no rollout is running [not repaired: wine: the record refused it]',
    );
    expect(lines).toContain(
      '  Git drift reported only: policies/staging.yaml has reconcile.gitDrift: report',
    );
    expect(lines.at(-1)).toBe('reconcile staging: 2 drift finding(s) left');
  });

  it('keeps the audit record under its size limit however many findings there are', () => {
    const many = Array.from({ length: 500 }, (_, i) => ({
      kind: 'not-served' as const,
      layer: 'data-plane' as const,
      model: `model-${i}`,
      message: `model-${i}: ${'x'.repeat(3000)}`,
      repair: { action: 'remove' as const, model: `model-${i}` },
    }));
    const big: ReconcileReport = {
      ...report,
      findings: many,
      repairs: many.map((f) => ({ repair: f.repair, done: false, detail: 'y'.repeat(3000) })),
      remaining: many,
    };
    const details = reconcileAuditDetails(big);
    expect(Buffer.byteLength(canonicalJson(details))).toBeLessThan(MAX_DETAILS_BYTES);
    expect(details).toMatchObject({ counts: { 'not-served': 500 }, remaining: 500, repaired: 0 });
  });
});
