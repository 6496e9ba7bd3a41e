/** The drift judgement: every kind, and what Temporal's record says should serve. */
import { describe, expect, it } from 'vitest';
import type { Convergence } from '../../desired-state/convergence.ts';
import { expectedStable, findDrift, type RunView, servingOf } from '../../desired-state/drift.ts';
import type { DesiredState, ModelRouting } from '../../desired-state/types.ts';

const ENV = 'staging';
const bundle = (n: number) => `sha256:${String(n).repeat(64).slice(0, 64)}`;
const routing = (stable: string, extra: Partial<ModelRouting> = {}): ModelRouting => ({
  stable: { version: stable, bundle: bundle(1) },
  canary: null,
  shadow: null,
  previousStable: null,
  ...extra,
});
const desired = (models: Record<string, ModelRouting> = {}): DesiredState => ({
  environment: ENV,
  generation: 3,
  models,
  updatedAt: null,
  updatedBy: null,
  reason: null,
});
const converged: Convergence = {
  state: 'done',
  environment: ENV,
  target: 3,
  converged: [],
  lagging: [],
  failed: [],
  stale: [],
  message: 'every live replica (1) serves generation 3',
};
const lagging: Convergence = {
  ...converged,
  state: 'waiting',
  message: 'replica-b serves generation 2 of 3',
};

// Overrides set to undefined remove the field, as a run without a result has none.
const run = (over: { [K in keyof RunView]?: RunView[K] | undefined }): RunView => {
  const merged: Record<string, unknown> = {
    workflowId: 'deploy/staging/iris',
    runId: 'r1',
    type: 'DeployModel',
    state: 'closed',
    status: 'COMPLETED',
    specDigest: 'd1',
    commit: 'c1',
    outcome: 'promoted',
    stable: 'v2',
    ...over,
  };
  return Object.fromEntries(
    Object.entries(merged).filter(([, value]) => value !== undefined),
  ) as unknown as RunView;
};
const git = (
  specs: { model: string; specDigest: string }[],
  invalid: { path: string; message: string }[] = [],
) => ({
  commit: 'abcdef0123456789',
  specs: specs.map((spec) => ({ ...spec, path: `specs/${spec.model}.yaml` })),
  invalid,
});
const kinds = (findings: { kind: string; model?: string }[]) =>
  findings.map((f) => `${f.kind}:${f.model ?? ''}`);

describe('expectedStable', () => {
  it('is the stable version the newest run that touched the data plane left', () => {
    expect(expectedStable([run({ stable: 'v3' }), run({ stable: 'v2' })])).toBe('v3');
    // A rejected run never loaded anything: the run before it decides.
    expect(expectedStable([run({ outcome: 'rejected', stable: undefined }), run({ stable: 'v2' })])).toBe(
      'v2',
    );
    // A rollback leaves the previous stable serving.
    expect(expectedStable([run({ outcome: 'rolled-back', stable: 'v1' })])).toBe('v1');
  });
  it('is the version a monitor restored, when its rollback is newer than the promotion it undid', () => {
    const monitorRollback = run({
      type: 'MonitorModel',
      specDigest: 'd2',
      outcome: 'rolled-back',
      stable: 'v1',
    });
    const promoted = run({ specDigest: 'd2', outcome: 'promoted', stable: 'v2' });
    expect(expectedStable([monitorRollback, promoted])).toBe('v1');
    // A newer rollout after it decides again.
    expect(expectedStable([run({ stable: 'v3' }), monitorRollback, promoted])).toBe('v3');
    // The spec that was promoted is held, as after a rollback during its canary.
    const findings = findDrift({
      environment: ENV,
      git: git([{ model: 'iris', specDigest: 'd2' }]),
      runs: { iris: [monitorRollback, promoted] },
      dataPlane: { desired: desired({ iris: routing('v1') }), convergence: converged },
    });
    expect(kinds(findings)).toEqual(['held:iris']);
  });
  it('is nothing after a retirement, and the rollout while one runs', () => {
    expect(expectedStable([run({ type: 'RetireModel', outcome: 'retired', stable: undefined })])).toBeNull();
    expect(expectedStable([run({ state: 'running', status: 'RUNNING' })])).toBe('rolling-out');
    expect(expectedStable([])).toBeNull();
  });
});

describe('findDrift', () => {
  it('finds none when Git, Temporal and the data plane agree', () => {
    const findings = findDrift({
      environment: ENV,
      git: git([{ model: 'iris', specDigest: 'd1' }]),
      runs: { iris: [run({})] },
      dataPlane: { desired: desired({ iris: routing('v2') }), convergence: converged },
    });
    expect(findings).toEqual([]);
  });

  it('repairs a forgotten model or a wrong stable back to what Temporal recorded', () => {
    const forgotten = findDrift({
      environment: ENV,
      runs: { iris: [run({})] },
      dataPlane: { desired: desired(), convergence: converged },
    });
    expect(forgotten).toEqual([
      expect.objectContaining({
        kind: 'not-served',
        repair: { action: 'serve-stable', model: 'iris', version: 'v2' },
      }),
    ]);
    const wrong = findDrift({
      environment: ENV,
      runs: { iris: [run({})] },
      dataPlane: { desired: desired({ iris: routing('v1') }), convergence: converged },
    });
    expect(wrong[0]?.message).toContain('serves v1 as stable');
  });

  it('ends a canary or shadow no rollout owns, and leaves a running rollout alone', () => {
    const withCanary = desired({
      iris: routing('v2', { canary: { version: 'v3', bundle: bundle(2), weight: 10 } }),
    });
    const stale = findDrift({
      environment: ENV,
      runs: { iris: [run({})] },
      dataPlane: { desired: withCanary, convergence: converged },
    });
    expect(stale).toEqual([
      expect.objectContaining({ kind: 'stale-rollout', repair: { action: 'end-rollout', model: 'iris' } }),
    ]);
    const rolling = findDrift({
      environment: ENV,
      runs: { iris: [run({ state: 'running', status: 'RUNNING' }), run({})] },
      dataPlane: { desired: withCanary, convergence: converged },
    });
    expect(rolling).toEqual([]);
  });

  it('removes a retired model still routed, and only reports one no run ever deployed', () => {
    const findings = findDrift({
      environment: ENV,
      runs: { iris: [run({ type: 'RetireModel', outcome: 'retired', stable: undefined })] },
      dataPlane: { desired: desired({ iris: routing('v2'), stray: routing('x1') }), convergence: converged },
    });
    expect(kinds(findings)).toEqual(['retired-but-served:iris', 'unmanaged:stray']);
    expect(findings[0]?.repair).toEqual({ action: 'remove', model: 'iris' });
    expect(findings[1]?.repair).toBeUndefined();
  });

  it('reports Git drift without repairing it', () => {
    const findings = findDrift({
      environment: ENV,
      git: git(
        [
          { model: 'iris', specDigest: 'changed' },
          { model: 'never', specDigest: 'n1' },
          { model: 'held', specDigest: 'h1' },
          { model: 'failed', specDigest: 'f1' },
        ],
        [{ path: 'specs/broken.yaml', message: 'metadata.name missing' }],
      ),
      runs: {
        iris: [run({})],
        held: [run({ specDigest: 'h1', outcome: 'rolled-back', stable: 'v1' })],
        failed: [
          run({ specDigest: 'f1', status: 'TERMINATED', outcome: undefined, stable: undefined }),
          run({ stable: 'v1' }),
        ],
        gone: [run({ stable: 'g1' })],
      },
      dataPlane: {
        desired: desired({
          iris: routing('v2'),
          held: routing('v1'),
          failed: routing('v1'),
          gone: routing('g1'),
        }),
        convergence: converged,
      },
    });
    expect(kinds(findings)).toEqual([
      'invalid-spec:',
      'not-deployed:failed',
      'undeclared:gone',
      'held:held',
      'not-deployed:iris',
      'not-deployed:never',
    ]);
    expect(findings.every((f) => f.repair === undefined)).toBe(true);
  });

  it('reports replicas that lag, but only when something is routed', () => {
    const findings = findDrift({
      environment: ENV,
      runs: { iris: [run({})] },
      dataPlane: { desired: desired({ iris: routing('v2') }), convergence: lagging },
    });
    expect(findings).toEqual([{ kind: 'replicas', layer: 'replicas', message: lagging.message }]);
    expect(
      findDrift({ environment: ENV, runs: {}, dataPlane: { desired: desired(), convergence: lagging } }),
    ).toEqual([]);
  });
});

describe('servingOf', () => {
  it('serves only what is stable and landed on every live replica', () => {
    const view = { desired: desired({ iris: routing('v2') }), convergence: converged };
    expect(servingOf(view, 'iris', 'v2')).toEqual({ served: true });
    expect(servingOf(view, 'iris', 'v1')).toMatchObject({ served: false });
    expect(servingOf(view, 'other', 'v1')).toMatchObject({ served: false });
    expect(servingOf({ ...view, convergence: lagging }, 'iris', 'v2')).toEqual({
      served: false,
      why: lagging.message,
    });
  });
});
