/**
 * Every activity DeployModel calls, with its timeouts and retries declared once per capability.
 * Domain failures are non-retryable on both ends: activities raise them as such, and the
 * policies list them in case one is re-wrapped.
 */
import { proxyActivities } from '@temporalio/workflow';
import type { createArtifactActivities } from '../activities/artifact.ts';
import type { createAuditActivities } from '../activities/audit.ts';
import type { createDataPlaneActivities } from '../activities/data-plane.ts';
import type { createIdentityActivities } from '../activities/identity.ts';
import type { createMonitorActivities } from '../activities/monitor.ts';
import type { createMonitoringActivities } from '../activities/monitoring.ts';
import type { createPackageActivities } from '../activities/package.ts';
import type { createReconcileActivities } from '../activities/reconcile.ts';
import type { createReleaseActivities } from '../activities/release.ts';
import type { createScanActivities } from '../activities/scan.ts';
import type { createEstimateActivities } from '../activities/step-estimates.ts';
import type { createSupplyChainActivities } from '../activities/supply-chain.ts';
import type { createValidateActivities } from '../activities/validate.ts';
import { DOMAIN_FAILURE_TYPES } from '../domain/failure-types.ts';

const nonRetryableErrorTypes = DOMAIN_FAILURE_TYPES;

export const { resolveArtifact } = proxyActivities<ReturnType<typeof createArtifactActivities>>({
  startToCloseTimeout: '10 minutes',
  heartbeatTimeout: '1 minute',
  retry: { initialInterval: '1s', maximumInterval: '30s', maximumAttempts: 5, nonRetryableErrorTypes },
});

export const { validateModel } = proxyActivities<ReturnType<typeof createValidateActivities>>({
  startToCloseTimeout: '15 minutes',
  heartbeatTimeout: '1 minute',
  retry: { initialInterval: '2s', maximumInterval: '1 minute', maximumAttempts: 3, nonRetryableErrorTypes },
});

export const { scanModel } = proxyActivities<ReturnType<typeof createScanActivities>>({
  startToCloseTimeout: '10 minutes',
  heartbeatTimeout: '1 minute',
  retry: { initialInterval: '2s', maximumInterval: '1 minute', maximumAttempts: 3, nonRetryableErrorTypes },
});

// Signatures, secrets and policy read files only; a domain failure (bad signature, secret,
// policy violation) is final, anything else (a file system hiccup) retries.
export const { verifySupplyChain, checkPolicy } = proxyActivities<
  ReturnType<typeof createSupplyChainActivities>
>({
  startToCloseTimeout: '10 minutes',
  retry: { initialInterval: '2s', maximumInterval: '1 minute', maximumAttempts: 3, nonRetryableErrorTypes },
});

// All the ship-or-not gates in one activity (digest, scan, secrets, signatures, policy); it
// heartbeats while it reads and scans a large model, like the scan alone did.
export const { checkShipGates } = proxyActivities<ReturnType<typeof createSupplyChainActivities>>({
  startToCloseTimeout: '10 minutes',
  heartbeatTimeout: '1 minute',
  retry: { initialInterval: '2s', maximumInterval: '1 minute', maximumAttempts: 3, nonRetryableErrorTypes },
});

// Who approves and who started a run: policy files and (for OIDC) an issuer's key set over the
// network. An approver is waiting on the answer, so a few quick tries; a refusal is an answer,
// not a failure, and a missing origin is a domain failure.
export const { verifyApproval, authenticateOrigin } = proxyActivities<
  ReturnType<typeof createIdentityActivities>
>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1s', maximumInterval: '5s', maximumAttempts: 5, nonRetryableErrorTypes },
});

// Quarantine and promotion evidence, read from the audit log (one verified walk of it): a
// refusal is final, a log that cannot be read is retried.
export const { checkRelease } = proxyActivities<ReturnType<typeof createReleaseActivities>>({
  startToCloseTimeout: '5 minutes',
  retry: { initialInterval: '1s', maximumInterval: '30s', maximumAttempts: 5, nonRetryableErrorTypes },
});

export const { packageModel } = proxyActivities<ReturnType<typeof createPackageActivities>>({
  startToCloseTimeout: '10 minutes',
  retry: { initialInterval: '1s', maximumInterval: '30s', maximumAttempts: 5, nonRetryableErrorTypes },
});

// Routing changes answer in milliseconds and are idempotent: a short timeout lets a retry on a
// new worker start soon after one dies mid-call. A data plane that is down is waited for (many
// attempts), because the alternative is a rollout stuck between weights.
export const dataPlane = proxyActivities<ReturnType<typeof createDataPlaneActivities>>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1s', maximumInterval: '30s', maximumAttempts: 30, nonRetryableErrorTypes },
});

// Loading reads and warms a model, which can take minutes for a large one.
export const dataPlaneLoad = proxyActivities<ReturnType<typeof createDataPlaneActivities>>({
  startToCloseTimeout: '5 minutes',
  retry: { initialInterval: '1s', maximumInterval: '30s', maximumAttempts: 10, nonRetryableErrorTypes },
});

// A watch lasts as long as its step (at most 7 days, a spec rule); the heartbeat (every read, and
// every 5 s while it waits for the next), not the overall timeout, notices a dead worker, so a
// new worker takes the watch over 20 s after the old one died.
export const { watchCandidate } = proxyActivities<ReturnType<typeof createMonitorActivities>>({
  startToCloseTimeout: '8 days',
  heartbeatTimeout: '20 seconds',
  retry: { initialInterval: '1s', maximumInterval: '10s', maximumAttempts: 20, nonRetryableErrorTypes },
});

// An estimate is advice: a few quick tries, then the rollout goes on without it.
export const { estimateAnalysisSteps } = proxyActivities<ReturnType<typeof createEstimateActivities>>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1s', maximumInterval: '5s', maximumAttempts: 3, nonRetryableErrorTypes },
});

// The audit log must not lose a decision, so recording retries for much longer than the steps.
export const { recordDecision } = proxyActivities<ReturnType<typeof createAuditActivities>>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1s', maximumInterval: '30s', maximumAttempts: 50 },
});

// One reconcile pass reads Git, Temporal and the desired state and writes repairs; each write is
// idempotent (it sets routing to what Temporal recorded), so a retried pass is safe.
export const { reconcileEnvironment } = proxyActivities<ReturnType<typeof createReconcileActivities>>({
  startToCloseTimeout: '5 minutes',
  heartbeatTimeout: '1 minute',
  retry: {
    initialInterval: '2s',
    maximumInterval: '30s',
    maximumAttempts: 3,
    nonRetryableErrorTypes: [...nonRetryableErrorTypes, 'ReconcileUnavailable'],
  },
});

// The monitor after promotion reads counters every interval: a read that fails is retried a few
// times, then the look is skipped (the next one covers the rows, counters being cumulative).
export const { readMonitorInputs } = proxyActivities<ReturnType<typeof createMonitoringActivities>>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1s', maximumInterval: '10s', maximumAttempts: 5, nonRetryableErrorTypes },
});

// An alert or retraining request: the receiver may be down for a while, so retries for about an
// hour; each attempt carries the same idempotency key. A refusal (4xx) is final.
export const { sendMonitorAction } = proxyActivities<ReturnType<typeof createMonitoringActivities>>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '5s', maximumInterval: '5 minutes', maximumAttempts: 20, nonRetryableErrorTypes },
});
