/**
 * The `ModelDeployment` spec, kind by kind: the single source of truth for the spec's types, its
 * documentation (every field's `.describe()`) and the JSON Schema editors use
 * (`specs/modeldeployment.schema.json`, generated from this file).
 *
 * Parse through `parseSpec` in `specs/parse.ts`, never with a cast: it adds positions to errors
 * and runs the semantic rules the schema alone cannot express.
 */
import { z } from 'zod';
import { DURATION_PATTERN, parseDuration } from './duration.ts';
import { MonitoringSchema } from './monitoring-schema.ts';
import { PromotionSchema } from './promotion-schema.ts';
import { ImportanceSchema, SlicesSchema } from './validation-schema.ts';

/** The `apiVersion` every spec of this language declares. */
export const API_VERSION = 'modelship.dev/v1';
/** The `kind` of a model deployment spec. */
export const KIND = 'ModelDeployment';

/** A DNS label: model names, environments (also in policy files). */
export const dnsLabel = z
  .string()
  .max(63, 'must be at most 63 characters (a DNS label)')
  .regex(
    /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/,
    'must be a DNS label: lowercase letters, digits and "-", starting and ending with a letter or digit',
  );

/**
 * A duration such as 250ms or 5m (`specs/duration.ts`). Each object holding one also gets its
 * value in milliseconds beside it (`duration` → `durationMs`), added by a transform: the spec is
 * parsed once, and workflows read numbers, never the text (`normaliseDurations` in
 * `specs/durations-ms.ts` does the same for specs parsed before the fields existed).
 */
export const duration = z
  .string()
  .regex(DURATION_PATTERN, 'must be a duration such as 500us, 250ms, 30s, 5m, 2h or 1d');

const sha256 = z.string().regex(/^[a-f0-9]{64}$/, 'must be a sha256 digest: 64 lowercase hex characters');

/** A number from 0 to 1. */
export const fraction = z.number().min(0, 'must be between 0 and 1').max(1, 'must be between 0 and 1');

/** Tensor element types, named as ONNX Runtime names them in JavaScript. */
const TENSOR_DTYPES = [
  'float32',
  'float64',
  'float16',
  'int8',
  'int16',
  'int32',
  'int64',
  'uint8',
  'uint16',
  'uint32',
  'uint64',
  'bool',
  'string',
] as const;

const TensorSpec = z
  .strictObject({
    name: z.string().min(1).describe('Tensor name as the ONNX graph declares it.'),
    dtype: z.enum(TENSOR_DTYPES).describe('Element type of the tensor.'),
    shape: z
      .array(
        z
          .int()
          .min(-1, 'dimensions are positive, or -1 for a dynamic dimension')
          .refine((d) => d !== 0, 'a dimension cannot be 0'),
      )
      .describe('Dimensions; -1 marks a dynamic dimension such as the batch.'),
  })
  .describe('One input or output tensor of the model.');

/** What a column's values must satisfy; checked by the data plane on every request. */
const FeatureConstraint = z
  .strictObject({
    name: z
      .string()
      .min(1)
      .describe("The column's name, used in refusals, in metrics (`input.feature`) and by the monitor."),
    min: z.number().optional().describe('Smallest acceptable value, included.'),
    max: z.number().optional().describe('Largest acceptable value, included.'),
    allowed: z
      .array(z.number())
      .min(1, 'must list at least one value')
      .optional()
      .describe('The only acceptable values (a categorical column); not together with min or max.'),
    missing: z
      .enum(['deny', 'allow'])
      .default('deny')
      .describe(
        'Whether a missing value (JSON null in the data of a float input, fed to the model as NaN) is acceptable: deny (default) counts it as a violation; allow counts it as missing only.',
      ),
  })
  .describe('One column of a 2-D input, in order, and the constraints on its values.');

const InputTensorSpec = TensorSpec.extend({
  features: z
    .array(FeatureConstraint)
    .min(1, 'list one entry per column, or leave features out')
    .optional()
    .describe(
      'Optional data-quality constraints, one entry per column of a 2-D input [-1, n], in column order.',
    ),
  onViolation: z
    .enum(['count', 'reject'])
    .optional()
    .describe(
      'What the data plane does with a request a row of which breaks a constraint: count (default) counts the violation and serves it; reject refuses it with 400 naming the input, feature, row and value.',
    ),
}).describe('One input tensor of the model, with optional data-quality constraints on its columns.');

const ModelSource = z
  .strictObject({
    source: z
      .string()
      .min(1)
      .describe(
        'Where the model file is: a path relative to the repository root (e.g. models/iris/v2/model.onnx) or a URI (file://, https://, or oci://registry/repository@sha256:… for a model published as an OCI artifact).',
      ),
    sha256: sha256.describe('Pinned sha256 of the model file; the rollout refuses any other bytes.'),
    format: z.literal('onnx').default('onnx').describe('Model format. Only ONNX is supported.'),
  })
  .describe('The model artifact, pinned by digest.');

const Interface = z
  .strictObject({
    inputs: z
      .array(InputTensorSpec)
      .min(1, 'a model needs at least one input')
      .describe('Inputs the model must accept.'),
    outputs: z
      .array(TensorSpec)
      .min(1, 'a model needs at least one output')
      .describe('Outputs the model must produce.'),
  })
  .describe('The contract callers rely on; the model is checked against it before it gets traffic.');

const MinThreshold = z.strictObject({ min: fraction.describe('Lowest acceptable value.') });
const MaxLatency = z
  .strictObject({ max: duration.describe('Highest acceptable latency.') })
  .transform((limit) => ({ ...limit, maxMs: parseDuration(limit.max) }));

const Validation = z
  .strictObject({
    holdout: z
      .strictObject({
        path: z
          .string()
          .min(1)
          .describe('CSV file relative to the repository root: feature columns and a label column.'),
        labelColumn: z
          .string()
          .min(1)
          .default('label')
          .describe('Name of the column holding the true class.'),
        predictionOutput: z
          .string()
          .min(1)
          .default('label')
          .describe('Name of the model output that holds the predicted class.'),
        probabilityOutput: z
          .string()
          .min(1)
          .optional()
          .describe(
            'Name of the model output holding class probabilities [-1, classes], column k for class k; given, the report has calibration (ECE, reliability bins, Brier score).',
          ),
      })
      .describe('Labelled data the model has never been trained on.'),
    metrics: z
      .strictObject({
        accuracy: MinThreshold.optional().describe('Share of holdout rows predicted correctly.'),
        f1Macro: MinThreshold.optional().describe('Unweighted mean of per-class F1 scores.'),
        latencyP50: MaxLatency.optional().describe('Median single-row inference latency.'),
        latencyP99: MaxLatency.optional().describe('99th percentile single-row inference latency.'),
      })
      .describe('Thresholds the model must meet offline; a miss stops the rollout before any traffic.'),
    slices: SlicesSchema.optional(),
    importance: ImportanceSchema.optional(),
  })
  .describe('Offline validation run before the model is packaged.');

const SetWeightStep = z
  .int()
  .min(0, 'a weight is a percentage from 0 to 100')
  .max(100, 'a weight is a percentage from 0 to 100')
  .describe('Send this percentage of live traffic to the candidate.');

const PauseStep = z
  .strictObject({ duration: duration.describe('How long to hold before the next step.') })
  .transform((step) => ({ ...step, durationMs: parseDuration(step.duration) }))
  .describe('Hold at the current weight for a fixed time (a durable timer).');

const AnalysisStep = z
  .strictObject({
    duration: duration.describe('How long to watch live traffic before deciding (at most 7d).'),
    interval: duration
      .default('10s')
      .describe('How often metrics are read from the data plane (100ms to 1h).'),
  })
  .transform((step) => ({
    ...step,
    durationMs: parseDuration(step.duration),
    intervalMs: parseDuration(step.interval),
  }))
  .describe('Judge the candidate against stable on live metrics (spec.analysis limits).');

const ApprovalStep = z
  .strictObject({
    approvers: z
      .array(z.string().min(1).describe('A person or team handle.'))
      .min(1, 'name at least one approver')
      .describe('People or teams allowed to approve this step.'),
    timeout: duration.default('24h').describe('Without a decision by then, the step counts as rejected.'),
    description: z.string().optional().describe('What the approver is asked to check.'),
  })
  .transform((step) => ({ ...step, timeoutMs: parseDuration(step.timeout) }))
  .describe('Wait for a listed person to approve (Temporal update `approve`).');

const ShadowStep = z
  .strictObject({
    duration: duration.describe('How long to mirror traffic to the candidate (at most 7d).'),
    minAgreement: fraction
      .default(0.98)
      .describe('Lowest share of mirrored requests whose answer matches stable.'),
  })
  .transform((step) => ({ ...step, durationMs: parseDuration(step.duration) }))
  .describe(
    'Mirror live traffic to the candidate off the request path; its answers are compared, never returned.',
  );

/** The step kinds, in the order the docs list them. */
export const STEP_KINDS = ['shadow', 'setWeight', 'pause', 'analysis', 'approval'] as const;
export type StepKind = (typeof STEP_KINDS)[number];

/**
 * A step is written Argo-style, as an object with exactly one key naming its kind
 * (`- setWeight: 20`). Declaring every kind as an optional key of one strict object keeps error
 * paths pointing at what the author wrote (`steps.2.setWeight`); the transform then turns it into
 * a tagged union so code can `switch` over `type` exhaustively.
 */
export const RolloutStepSchema = z
  .strictObject({
    shadow: ShadowStep.optional(),
    setWeight: SetWeightStep.optional(),
    pause: PauseStep.optional(),
    analysis: AnalysisStep.optional(),
    approval: ApprovalStep.optional(),
  })
  .superRefine(
    (step, ctx) => {
      const present = STEP_KINDS.filter((kind) => step[kind] !== undefined);
      if (present.length !== 1) {
        ctx.addIssue({
          code: 'custom',
          message:
            present.length === 0
              ? `a step needs exactly one of: ${STEP_KINDS.join(', ')}`
              : `a step has exactly one kind, found ${present.join(' and ')}`,
        });
      }
    },
    {
      // An unknown key (`- canary: 10`) is already reported as an unknown step kind; saying
      // "needs exactly one kind" on top of it would be the same mistake told twice.
      when: ({ issues }) =>
        issues.every((issue) => issue.continue === true && issue.code !== 'unrecognized_keys'),
    },
  )
  .transform((step, ctx): Step => {
    if (step.shadow) return { type: 'shadow', ...step.shadow };
    if (step.setWeight !== undefined) return { type: 'setWeight', weight: step.setWeight };
    if (step.pause) return { type: 'pause', ...step.pause };
    if (step.analysis) return { type: 'analysis', ...step.analysis };
    if (step.approval) return { type: 'approval', ...step.approval };
    // Only a step made of unknown keys gets here (zod pipes past unrecognized keys), and those
    // keys are already reported; the issue below guards the impossible case of no issue at all.
    if (ctx.issues.length === 0) ctx.addIssue({ code: 'custom', message: 'a step needs a kind' });
    return z.NEVER;
  })
  .describe('One rollout step: exactly one of shadow, setWeight, pause, analysis, approval.');

/** A rollout step after parsing: a tagged union, so `switch (step.type)` is exhaustive. */
export type Step =
  | ({ type: 'shadow' } & z.output<typeof ShadowStep>)
  | { type: 'setWeight'; weight: number }
  | ({ type: 'pause' } & z.output<typeof PauseStep>)
  | ({ type: 'analysis' } & z.output<typeof AnalysisStep>)
  | ({ type: 'approval' } & z.output<typeof ApprovalStep>);

const Rollout = z
  .strictObject({
    environment: dnsLabel.describe('Target environment, e.g. staging or production.'),
    steps: z
      .array(RolloutStepSchema)
      .min(1, 'a rollout needs at least one step')
      .describe('Steps, run in order.'),
    postPromotionWindow: duration
      .default('5m')
      .describe('How long the previous stable version stays loaded after a promotion, for a fast rollback.'),
  })
  .transform((rollout) => ({ ...rollout, postPromotionWindowMs: parseDuration(rollout.postPromotionWindow) }))
  .describe('How the candidate reaches full traffic.');

const RelativeLimit = z.number().positive('must be a positive ratio');

const Analysis = z
  .strictObject({
    judge: z
      .enum(['sequential', 'threshold'])
      .default('sequential')
      .describe(
        'How live metrics are judged: sequential (anytime-valid tests; a healthy canary is rolled back by mistake at most alpha of the time, however often it is checked) or threshold (fixed limits at every read).',
      ),
    alpha: z
      .number()
      .gt(0, 'must be above 0')
      .lt(0.5, 'must be below 0.5')
      .default(0.01)
      .describe('Sequential judge: the highest acceptable chance of rolling back a healthy candidate.'),
    minEffect: z
      .number()
      .positive('must be above 0')
      .default(0.25)
      .describe('Sequential judge: the smallest relative degradation worth acting on (0.25 = 25 % worse).'),
    expectedTraffic: z
      .strictObject({
        requestsPerSecond: z
          .number()
          .positive('must be above 0')
          .describe('Requests per second to the model.'),
        errorRate: fraction.default(0).describe("Stable's usual share of failed requests."),
      })
      .optional()
      .describe(
        "Traffic the model usually gets, for sizing analysis steps in plans, and in rollouts until the data plane has measured stable's own.",
      ),
    maxExtensions: z
      .int()
      .min(0, 'must be 0 or more')
      .max(10, 'must be at most 10')
      .default(3)
      .describe(
        'How many times an analysis or shadow step that ends without a verdict is watched again (as long again each time) before the rollout rolls back; 0 rolls back at once.',
      ),
    minRequests: z
      .int()
      .positive()
      .default(100)
      .describe('Requests the candidate must serve before a verdict; fewer makes the step inconclusive.'),
    errorRate: z
      .strictObject({
        max: fraction.optional().describe('Highest acceptable candidate error rate.'),
        maxRatioToStable: RelativeLimit.optional().describe(
          'Highest acceptable candidate/stable error-rate ratio.',
        ),
      })
      .default({ max: 0.01 })
      .describe('Limits on the share of failed requests.'),
    latencyP99: z
      .strictObject({
        max: duration.optional().describe('Highest acceptable candidate p99 latency.'),
        maxRatioToStable: RelativeLimit.optional().describe('Highest acceptable candidate/stable p99 ratio.'),
      })
      .transform(({ max, ...limit }) => ({
        ...limit,
        ...(max === undefined ? {} : { max, maxMs: parseDuration(max) }),
      }))
      .default({ maxRatioToStable: 1.5 })
      .describe('Limits on tail latency.'),
    disagreement: z
      .strictObject({
        max: fraction.describe('Highest acceptable share of predictions that differ from stable.'),
      })
      .default({ max: 0.05 })
      .describe('Limit on how often the candidate predicts differently from stable.'),
  })
  .describe('Limits the analysis and shadow steps judge the candidate against.');

/** The name of a signing key, as specs and policies name it. */
export const KeyName = z
  .string()
  .regex(/^[a-z0-9][a-z0-9._-]{0,62}$/, 'must be a key name: lowercase letters, digits, ".", "_" and "-"')
  .describe('The name of a public key the environment trusts (policies/<environment>.yaml).');

const Security = z
  .strictObject({
    signedBy: z
      .array(KeyName)
      .default([])
      .describe(
        'Keys that must each have signed the model directory (its model.sig files); the environment policy may require more.',
      ),
  })
  .describe('Supply-chain requirements checked by the scan step before the model gets any traffic.');

const DigestedInput = z
  .strictObject({
    uri: z.string().min(1).describe('Where it is: a repository path, a git URL or any URI.'),
    sha256: sha256.optional().describe('sha256 of its contents, recorded in the provenance.'),
    commit: z
      .string()
      .regex(/^[a-f0-9]{40}([a-f0-9]{24})?$/, 'must be a full git commit id (40 or 64 hex characters)')
      .optional()
      .describe('The git commit of training code.'),
  })
  .describe('A training input, named with a digest where one is known.');

const Provenance = z
  .strictObject({
    trainingData: z.array(DigestedInput).default([]).describe('Datasets the model was trained on.'),
    trainingCode: z.array(DigestedInput).default([]).describe('Code that trained the model.'),
  })
  .describe('How the model was made, for the SLSA provenance statement the package step writes.');

const cardText = z.string().trim().min(1, 'must not be empty');

const ModelCardSpec = z
  .strictObject({
    intendedUse: cardText.describe(
      'What the model is for and who may rely on it: the use the validation numbers stand for.',
    ),
    outOfScope: z
      .array(cardText)
      .default([])
      .describe('Uses it is not meant for, so readers of the card do not stretch it there.'),
    limitations: z
      .array(cardText)
      .min(1, 'name at least one known limitation')
      .describe('Known technical limitations (data it never saw, ranges it was not tested on, …).'),
    ethicalConsiderations: z
      .array(cardText)
      .default([])
      .describe('Risks to people and how they are mitigated, one per entry.'),
  })
  .describe(
    "What people approving or using the model must know beyond its numbers: stated in the bundle's model card (MODEL_CARD.md and the BOM's modelCard).",
  );
/** `metadata.modelCard`, defaults applied. */
export type ModelCardSpec = z.output<typeof ModelCardSpec>;

/** A whole `ModelDeployment` spec; parses plain data into a `ModelDeployment` with defaults applied. */
export const ModelDeploymentSchema = z
  .strictObject({
    apiVersion: z.literal(API_VERSION).describe(`Spec language version; always ${API_VERSION}.`),
    kind: z.literal(KIND).describe(`Document kind; always ${KIND}.`),
    metadata: z
      .strictObject({
        name: dnsLabel.describe('Model name, unique per environment: a DNS label.'),
        owners: z
          .array(z.string().min(1).describe('A person or team handle.'))
          .min(1, 'name at least one owner')
          .describe('People or teams accountable for this deployment.'),
        description: z.string().optional().describe('What the model does, for people reading the spec.'),
        modelCard: ModelCardSpec.optional(),
      })
      .describe('Identity and ownership.'),
    spec: z
      .strictObject({
        model: ModelSource,
        interface: Interface,
        validation: Validation,
        rollout: Rollout,
        // prefault, not default: an absent block is parsed as `{}`, so the field defaults above
        // stay the only place the default limits are written.
        analysis: Analysis.prefault({}),
        security: Security.prefault({}),
        provenance: Provenance.optional(),
        monitoring: MonitoringSchema.prefault({}),
        promotion: PromotionSchema.optional(),
      })
      .describe('What to deploy and how.'),
  })
  .describe('A model deployment, declared in Git and rolled out by modelship.');

/** A spec as written in YAML, before defaults. */
export type ModelDeploymentInput = z.input<typeof ModelDeploymentSchema>;
/** A parsed spec, defaults applied; the shape every other module works with. */
export type ModelDeployment = z.output<typeof ModelDeploymentSchema>;
export type TensorSpec = z.output<typeof TensorSpec>;
/** An input of `spec.interface`, with its optional per-column constraints. */
export type InputTensorSpec = z.output<typeof InputTensorSpec>;
/** One column's constraints (`spec.interface.inputs[].features[]`). */
export type FeatureConstraint = z.output<typeof FeatureConstraint>;
export type ValidationSpec = z.output<typeof Validation>;
export type AnalysisSpec = z.output<typeof Analysis>;
export type ProvenanceSpec = z.output<typeof Provenance>;
