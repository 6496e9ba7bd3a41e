/**
 * The one spec file of the demo repository, `specs/iris.yaml`. Each commit changes only the model
 * it points at, as a team's spec would change; the rollout plan stays the same, so the good and
 * the bad candidate meet exactly the same gates.
 */

/** Who may approve the rollout's approval step; the demo approves as this person. */
export const APPROVER = 'alice';

/** The shadow step's bar. v2 agrees with v1 on 44 of the 45 holdout rows (0.978, models/catalog.json). */
export const MIN_AGREEMENT = 0.95;

export const SPEC_PATH = 'specs/iris.yaml';

/**
 * The spec for one iris model version, as committed. Durations are seconds so the journey is
 * short; a real rollout watches for minutes (see specs/examples/iris.yaml).
 */
export function irisSpec(model: { path: string; sha256: string; description: string }): string {
  return `# The demo's deployment of the iris classifier (written by npm run demo).
apiVersion: modelship.dev/v1
kind: ModelDeployment
metadata:
  name: iris
  owners: [${APPROVER}, ml-platform]
  description: ${model.description}
spec:
  model:
    source: ${model.path}
    sha256: ${model.sha256}
  interface:
    inputs:
      - { name: input, dtype: float32, shape: [-1, 4] }
    outputs:
      - { name: label, dtype: int64, shape: [-1] }
      - { name: probabilities, dtype: float32, shape: [-1, 3] }
  validation:
    holdout:
      path: models/iris/holdout.csv
    metrics:
      # The offline gate every version must pass before it gets any traffic.
      accuracy: { min: 0.85 }
      latencyP99: { max: 50ms }
  rollout:
    environment: staging
    # The previous stable stays loaded this long after a promotion, for a fast manual rollback.
    postPromotionWindow: 2s
    # A model's first version serves at once; every later one goes through these steps.
    steps:
      # Mirror live requests to the candidate; its answers are compared, never returned.
      - shadow: { duration: 4s, minAgreement: ${MIN_AGREEMENT} }
      - setWeight: 50
      # Judge the 50 % canary against stable on live traffic, reading metrics every 500 ms. The
      # judge passes only on evidence: here, the candidate's own error rate shown below 5 %
      # (minEffect × errorRate.max) and fewer than 1 % of its requests over 250ms, which takes
      # several hundred canary requests. Too short a step ends inconclusive, never passes.
      - analysis: { duration: 6s, interval: 500ms }
      - approval: { approvers: [${APPROVER}], timeout: 2m }
      - setWeight: 100
  analysis:
    minRequests: 50
    # A demo's traffic is small: act on a doubling, not on 25 % (the default minEffect).
    minEffect: 1
    errorRate: { max: 0.05 }
    # Absolute: a ratio to stable is noise for a model that answers in microseconds.
    latencyP99: { max: 250ms }
    disagreement: { max: 0.1 }
  # Once a version serves all traffic, modelship watches it against its holdout's profile: input
  # drift per feature, predicted classes, data quality. Every 2 s here; the default is 5m.
  monitoring:
    interval: 2s
`;
}
