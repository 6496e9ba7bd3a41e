/**
 * The routing changes over desired models, and the rules every stored routing obeys: the same
 * moves as the data plane's admin transitions, checked through the schema the stores use.
 */
import { describe, expect, it } from 'vitest';
import { describeIssues } from '../../desired-state/errors.ts';
import {
  clearCanary,
  clearShadow,
  promote,
  retire,
  rollback,
  serveFirstVersion,
  setCanary,
  setShadow,
} from '../../desired-state/routing.ts';
import { nextDesiredState } from '../../desired-state/store.ts';
import { emptyDesiredState, Models, ReplicaReportInput } from '../../desired-state/types.ts';
import { ref, sampleReport, V1, V2, V3 } from './support.ts';

const served = serveFirstVersion({}, 'iris', V1);

describe('routing changes', () => {
  it('the first version becomes stable; a served model keeps its routing', () => {
    expect(served).toEqual({ iris: { stable: V1, canary: null, shadow: null, previousStable: null } });
    expect(serveFirstVersion(served, 'iris', V2)).toBe(served);
  });

  it('canary and shadow are set and cleared; a model not served is an error naming the ones that are', () => {
    const both = setShadow(setCanary(served, 'iris', V2, 20), 'iris', V3);
    expect(both.iris).toEqual({
      stable: V1,
      canary: { ...V2, weight: 20 },
      shadow: V3,
      previousStable: null,
    });
    expect(clearShadow(clearCanary(both, 'iris'), 'iris')).toEqual(served);
    expect(() => setCanary(served, 'wine', V2, 5)).toThrow(
      'model "wine" is not served in this environment (models: iris)',
    );
  });

  it('promote keeps the old stable for a rollback; rollback follows the data plane rules', () => {
    const promoted = promote(setCanary(served, 'iris', V2, 50), 'iris', V2);
    expect(promoted.iris).toEqual({ stable: V2, canary: null, shadow: null, previousStable: V1 });
    // Promoting the stable again changes nothing.
    expect(promote(promoted, 'iris', V2)).toEqual(promoted);
    // No rollout in progress: undo the last promotion.
    expect(rollback(promoted, 'iris').iris).toEqual(served.iris);
    // A rollout in progress: abandon it, stable stays.
    const inFlight = setCanary(promoted, 'iris', V3, 10);
    expect(rollback(inFlight, 'iris').iris).toEqual({
      stable: V2,
      canary: null,
      shadow: null,
      previousStable: null,
    });
    // A named version of the routing.
    expect(rollback(inFlight, 'iris', 'v1').iris?.stable).toEqual(V1);
    expect(() => rollback(inFlight, 'iris', 'v9')).toThrow(/no version "v9" in its routing/);
    // Nothing to undo: unchanged.
    expect(rollback(served, 'iris')).toEqual(served);
  });

  it('retire removes the model', () => {
    expect(retire(setCanary(served, 'iris', V2, 5), 'iris')).toEqual({});
    expect(retire(served, 'wine')).toEqual(served);
  });
});

describe('routing rules', () => {
  const problems = (value: unknown) => {
    const parsed = Models.safeParse(value);
    return parsed.success ? 'ok' : describeIssues(parsed.error, 'models');
  };

  it('accepts a full routing with every role', () => {
    expect(
      problems({ iris: { stable: V1, canary: { ...V2, weight: 0 }, shadow: V2, previousStable: V3 } }),
    ).toBe('ok');
  });

  it('names each broken rule by its field', () => {
    expect(
      problems({ iris: { stable: V1, canary: { ...V2, weight: 12.5 }, shadow: null, previousStable: null } }),
    ).toMatch(/^models\.iris\.canary\.weight: /);
    expect(problems({ iris: { stable: V1, canary: null, shadow: V1, previousStable: null } })).toBe(
      'models.iris.shadow.version: must not be the stable version ("v1")',
    );
    expect(problems({ iris: { stable: V1, canary: null, shadow: null, previousStable: V1 } })).toBe(
      'models.iris.previousStable.version: must not be the stable version ("v1")',
    );
    expect(
      problems({
        iris: {
          stable: V1,
          canary: { ...ref('v2', 'b'), weight: 1 },
          shadow: ref('v2', 'd'),
          previousStable: null,
        },
      }),
    ).toBe(
      `models.iris.shadow.bundle: version "v2" is canary with bundle ${V2.bundle}: one version name is one bundle`,
    );
    expect(
      problems({
        iris: {
          stable: { version: 'v1', bundle: 'sha256:abc' },
          canary: null,
          shadow: null,
          previousStable: null,
        },
      }),
    ).toBe('models.iris.stable.bundle: must be an OCI digest: "sha256:" and 64 lowercase hex digits');
    expect(problems({ iris: { stable: V1, canary: null, shadow: null } })).toMatch(
      /^models\.iris\.previousStable: /,
    );
    expect(
      problems({ iris: { stable: V1, canary: null, shadow: null, previousStable: null, extra: 1 } }),
    ).toMatch(/^models\.iris: .*extra/);
  });

  it('a name that comes back must bring its bundle: checked against the current state too', () => {
    const current = nextDesiredState(
      emptyDesiredState('staging'),
      () => promote(served, 'iris', V1),
      {},
      new Date(),
    );
    const state = nextDesiredState(
      current.state,
      (m) => promote(setCanary(m, 'iris', V2, 5), 'iris', V2),
      {},
      new Date(),
    ).state;
    expect(state.models.iris?.previousStable).toEqual(V1);
    // previousStable dropped and v1 reused for other bytes in the same change: replicas still hold v1.
    const reuse = () => ({
      iris: { stable: V2, canary: { ...ref('v1', 'e'), weight: 5 }, shadow: null, previousStable: null },
    });
    expect(() => nextDesiredState(state, reuse, {}, new Date())).toThrow(
      `models.iris.canary.bundle: version "v1" is bundle ${V1.bundle} in generation 2; give bundle sha256:${'e'.repeat(64)} another version name`,
    );
  });
});

describe('replica reports', () => {
  it('cuts an overlong message instead of refusing the report (it is also the heartbeat)', () => {
    const parsed = ReplicaReportInput.parse(sampleReport({ message: 'x'.repeat(5_000) }));
    expect(parsed.message).toHaveLength(2_000);
  });

  it('takes only http(s) URLs and a serving generation that fits the status', () => {
    expect(ReplicaReportInput.safeParse(sampleReport({ url: 'file:///etc/passwd' })).success).toBe(false);
    expect(
      ReplicaReportInput.safeParse(sampleReport({ status: 'converging', generation: 3, serving: 2 })).success,
    ).toBe(true);
    expect(
      ReplicaReportInput.safeParse(sampleReport({ status: 'failed', generation: 3, serving: 4 })).success,
    ).toBe(false);
  });
});
