/**
 * FAST tier, stubbed activities (`test/support/stub-activities.ts`): the real DeployModel on the
 * real dev server, through every branch before the staged rollout: a first version serves at
 * once, and a domain failure at each gate rejects the change there, naming the step, before any
 * traffic moves. What the real gates find is tested in `test/activities`; one real journey per
 * outcome in `deploy-model.test.ts`.
 */
import { afterAll, beforeAll, describe, it } from 'vitest';
import type { FailureType } from '../../domain/failure-types.ts';
import { statusQuery } from '../../workflows/messages.ts';
import type { PipelineStage } from '../../workflows/status.ts';
import {
  type ActivityName,
  CANDIDATE_DIGEST,
  CANDIDATE_VERSION,
  failWith,
  healthy,
  type StubScript,
} from '../support/stub-activities.ts';
import {
  deployInput,
  type StubStack,
  startStubbedDeployment,
  startStubStack,
} from '../support/stub-stack.ts';

let stack: StubStack;

beforeAll(async () => {
  stack = await startStubStack('pipeline-branches');
});

afterAll(async () => {
  await stack?.stop();
});

/**
 * The gates in the order a change meets them: who started it first (nothing is read for an
 * unproven production origin); then what the audit log says of the artifact (quarantine, the
 * promotion evidence) before any of it is fetched; scanning never executes the model, so it
 * comes before validation.
 */
const PIPELINE: ActivityName[] = [
  'authenticateOrigin',
  'checkRelease',
  'resolveArtifact',
  'checkShipGates',
  'validateModel',
  'checkPolicy',
  'packageModel',
  'loadIntoDataPlane',
];

/** Activities that belong to a staged rollout, never called before the candidate is loaded. */
const ROLLOUT: ActivityName[] = [
  'estimateAnalysisSteps',
  'setCandidateWeight',
  'mirrorToCandidate',
  'watchCandidate',
  'promoteCandidate',
  'rollbackCandidate',
  'unloadFromDataPlane',
];

describe.concurrent('DeployModel before the rollout (stubbed activities)', () => {
  it("serves a model's first version to all traffic at once, with no rollout", async ({ expect }) => {
    const script: StubScript = {
      loadIntoDataPlane: async (input, attempt) => {
        const loaded = await healthy.loadIntoDataPlane(input, attempt);
        const routing = { ...loaded.routing, stable: loaded.version, loaded: [loaded.version] };
        return { ...loaded, becameStable: true, routing };
      },
    };
    const { handle, run } = await startStubbedDeployment(stack, { model: 'pb-first', script });
    const result = await handle.result();

    expect(result).toMatchObject({
      outcome: 'serving',
      model: 'pb-first',
      environment: 'staging',
      bundle: { digest: CANDIDATE_DIGEST },
      dataPlane: { version: CANDIDATE_VERSION, stable: CANDIDATE_VERSION },
    });
    expect(result.summary).toContain(`pb-first@staging serving version ${CANDIDATE_VERSION} to all traffic`);
    expect(result.rollback).toBeUndefined();
    expect(run.names().filter((name) => name !== 'recordDecision')).toEqual(PIPELINE);
    expect(run.stages()).toEqual(['resolving', 'scanning', 'validating', 'packaging', 'loading', 'serving']);
    expect(run.decisions()).toEqual(['deployment.serving']);
    expect((await handle.query(statusQuery)).stage).toBe('serving');

    // What each gate gets comes from the spec and the gate before it.
    const input = deployInput({ model: 'pb-first' });
    const [resolve] = run.inputsOf('resolveArtifact');
    expect(resolve).toMatchObject({
      deployment: { model: 'pb-first', environment: 'staging', commit: input.deployment.commit },
      source: input.spec.spec.model.source,
      sha256: input.spec.spec.model.sha256,
    });
    const artifact = { sha256: input.spec.spec.model.sha256 };
    expect(run.inputsOf('checkShipGates')[0]).toMatchObject({ artifact, specText: input.specText });
    expect(run.inputsOf('validateModel')[0]).toMatchObject({
      artifact,
      interface: input.spec.spec.interface,
    });
    expect(run.inputsOf('packageModel')[0]).toMatchObject({ artifact, specText: input.specText });
    expect(run.inputsOf('loadIntoDataPlane')[0]?.bundle.digest).toBe(CANDIDATE_DIGEST);
  });

  const gates: [ActivityName, PipelineStage, FailureType][] = [
    ['authenticateOrigin', 'resolving', 'OriginUnverified'],
    ['checkRelease', 'resolving', 'Quarantined'],
    ['checkRelease', 'resolving', 'PromotionRefused'],
    ['resolveArtifact', 'resolving', 'DigestMismatch'],
    // One activity judges every ship-or-not gate (supply-chain/gates/); each refuses with its type.
    ['checkShipGates', 'scanning', 'ScanFailed'],
    ['checkShipGates', 'scanning', 'SecretFound'],
    ['checkShipGates', 'scanning', 'SignatureInvalid'],
    ['checkShipGates', 'scanning', 'PolicyViolation'],
    ['validateModel', 'validating', 'ValidationFailed'],
    ['checkPolicy', 'validating', 'PolicyViolation'],
    ['packageModel', 'packaging', 'BundleConflict'],
    ['loadIntoDataPlane', 'loading', 'DataPlaneRejected'],
  ];
  it.for(gates)(
    'rejects a change refused by %s at %s (%s), before any traffic moves',
    async ([gate, step, type], { expect }) => {
      const model = `pb-reject-${gate.toLowerCase()}-${type.toLowerCase()}`.slice(0, 63);
      const message = `stub: ${gate} refuses this model`;
      const { handle, run } = await startStubbedDeployment(stack, {
        model,
        script: { [gate]: failWith(type, message) },
      });
      const result = await handle.result();

      expect(result.outcome).toBe('rejected');
      expect(result.rejection).toEqual({ step, type, message });
      expect(result.summary).toBe(`${model}@staging rejected at ${step}: ${message}`);
      expect(result.dataPlane).toBeUndefined();
      // A domain failure is final: one attempt, and no gate after it runs.
      const called = run.names().filter((name) => name !== 'recordDecision');
      expect(called).toEqual(PIPELINE.slice(0, PIPELINE.indexOf(gate) + 1));
      expect(called.filter((name) => ROLLOUT.includes(name))).toEqual([]);
      expect(run.decisions()).toEqual(['deployment.rejected']);
      expect(run.decision('deployment.rejected')).toMatchObject({ step, type, message });
      expect(run.stages().slice(-2)).toEqual([step, 'rejected']);
      expect((await handle.query(statusQuery)).stage).toBe('rejected');
    },
  );
});
