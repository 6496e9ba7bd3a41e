/**
 * `buildModelBom`: the CycloneDX 1.6 description of a packaged model (an ML-BOM). The model is
 * `metadata.component` (type `machine-learning-model`, with a model card holding the metrics
 * measured on the holdout and their thresholds, and the deeper report: per class, calibration,
 * slices, feature importance, `validation-analysis.ts`); the bundle's files, the declared training data
 * and the holdout with its reference profile summarised (`holdout-dataset.ts`) are `components`.
 *
 * Pure: everything, the timestamp included, comes from the input, and `serialNumber` is derived
 * from the bundle digest, so a retry of the package step writes the same bytes.
 */

import type { ReferenceProfile } from '../../domain/reference-profile.ts';
import type { MetricResult } from '../../model/metrics.ts';
import type { ScanReport } from '../../model/scan.ts';
import type { ValidationReport } from '../../model/validation-report.ts';
import type { ModelCardSpec, TensorSpec } from '../../specs/schema.ts';
import {
  type CdxBom,
  type CdxComponent,
  type CdxExternalReference,
  type CdxModelCard,
  type CdxProperty,
  sha256Hash,
} from './cyclonedx.ts';
import { type BundleFacts, hasScheme, sortedScanners } from './facts.ts';
import { HOLDOUT_BOM_REF, holdoutDataset } from './holdout-dataset.ts';
import { modelCardConsiderations, modelCardOwnerProperties } from './model-card.ts';
import { uuidV5 } from './name-uuid.ts';
import { analysisMetrics, analysisProperties, holdoutSliceProperties } from './validation-analysis.ts';

/** The outcome of the environment's policy checks (signatures and the like), when they ran. */
export interface PolicySummary {
  passed: boolean;
  /** One line for people, e.g. `model.sig verified against keys ml-team, release`. */
  summary: string;
}

/** Everything `buildModelBom` states; see `BundleFacts` for the shared part. */
export interface ModelBomInput extends BundleFacts {
  /** `metadata.description` of the spec. */
  description?: string;
  /** `metadata.owners` of the spec. */
  owners?: readonly string[];
  /** `metadata.modelCard` of the spec: the card's considerations (`model-card.ts`). */
  card?: ModelCardSpec;
  /** `spec.interface`. */
  interface: { inputs: readonly TensorSpec[]; outputs: readonly TensorSpec[] };
  /** What the model does (default `classification`, the task modelship's metrics measure). */
  task?: string;
  validation: Pick<
    ValidationReport,
    'passed' | 'metrics' | 'holdoutRows' | 'holdoutSha256' | 'analysis' | 'explanations'
  >;
  scan: Pick<ScanReport, 'passed' | 'findings' | 'checks'>;
  /** The holdout's reference profile, described as the dataset the model was evaluated on. */
  profile?: ReferenceProfile;
  policy?: PolicySummary;
  /** RFC 3339 time the bundle was made (the manifest's `createdAt`), never the clock at build time. */
  timestamp: string;
}

export const CYCLONEDX_SCHEMA_URL = 'http://cyclonedx.org/schema/bom-1.6.schema.json';
/** `bom-ref` of the model component, which the model card and dependencies point from. */
export const MODEL_BOM_REF = 'model';

/** `urn:uuid:` named by the bundle digest: one bundle, one BOM serial number, whatever the attempt. */
export function bomSerialNumber(bundleDigest: string): string {
  return `urn:uuid:${uuidV5(`https://modelship.dev/bundles/${bundleDigest}/bom.cdx.json`)}`;
}

/** Builds the CycloneDX 1.6 ML-BOM of a packaged model; check it with `validateBom` before writing. */
export function buildModelBom(input: ModelBomInput): CdxBom {
  const trainingData = (input.provenance?.trainingData ?? []).map((entry, index) => {
    const ref = `training-data-${index + 1}`;
    const component: CdxComponent = {
      type: 'data',
      'bom-ref': ref,
      name: entry.uri,
      ...(entry.sha256 ? { hashes: [sha256Hash(entry.sha256)] } : {}),
      // `contents.url` is for a location; a bare name such as `sklearn.datasets.load_iris` is not one.
      data: [
        {
          type: 'dataset',
          name: entry.uri,
          ...(hasScheme(entry.uri) ? { contents: { url: entry.uri } } : {}),
        },
      ],
      ...(entry.commit ? { properties: [{ name: 'modelship:git:commit', value: entry.commit }] } : {}),
    };
    return { ref, component };
  });
  const dataRefs = trainingData.map((data) => data.ref);
  const files = [...input.bundle.files]
    .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))
    .map(
      (file): CdxComponent => ({
        type: 'file',
        'bom-ref': `bundle-file:${file.path}`,
        name: file.path,
        hashes: [sha256Hash(file.sha256)],
        properties: [{ name: 'modelship:file:sizeBytes', value: String(file.sizeBytes) }],
      }),
    );
  const model: CdxComponent = {
    type: 'machine-learning-model',
    'bom-ref': MODEL_BOM_REF,
    name: input.model,
    // The bundle digest, not the model's: the same model packaged from another commit or spec
    // text is another bundle, and the version must tell them apart.
    version: input.bundle.digest.slice(0, 12),
    ...(input.description ? { description: input.description } : {}),
    hashes: [sha256Hash(input.artifact.sha256)],
    externalReferences: externalReferences(input),
    modelCard: modelCard(input, input.profile ? [...dataRefs, HOLDOUT_BOM_REF] : dataRefs),
  };
  return {
    $schema: CYCLONEDX_SCHEMA_URL,
    bomFormat: 'CycloneDX',
    specVersion: '1.6',
    serialNumber: bomSerialNumber(input.bundle.digest),
    version: 1,
    metadata: {
      timestamp: input.timestamp,
      lifecycles: [{ phase: 'build' }],
      tools: { components: tools(input) },
      component: model,
      properties: metadataProperties(input),
    },
    components: [
      ...files,
      ...trainingData.map((data) => data.component),
      ...(input.profile ? [holdoutDataset(input.profile, holdoutSliceProperties(input.validation))] : []),
    ],
    ...(dataRefs.length > 0 ? { dependencies: [{ ref: MODEL_BOM_REF, dependsOn: dataRefs }] } : {}),
  };
}

/** `input: float32[-1, 4]`: name, element type and shape, -1 marking a dynamic dimension. */
export function tensorFormat(tensor: TensorSpec): string {
  return `${tensor.name}: ${tensor.dtype}[${tensor.shape.join(', ')}]`;
}

function modelCard(input: ModelBomInput, dataRefs: readonly string[]): CdxModelCard {
  const considerations = modelCardConsiderations(input.card);
  return {
    'bom-ref': `${MODEL_BOM_REF}-card`,
    modelParameters: {
      task: input.task ?? 'classification',
      ...(dataRefs.length > 0 ? { datasets: dataRefs.map((ref) => ({ ref })) } : {}),
      inputs: input.interface.inputs.map((tensor) => ({ format: tensorFormat(tensor) })),
      outputs: input.interface.outputs.map((tensor) => ({ format: tensorFormat(tensor) })),
    },
    quantitativeAnalysis: {
      performanceMetrics: [
        ...input.validation.metrics.map((metric) => ({
          type: metric.name,
          value: metricValue(metric.value, metric.unit),
          slice: 'holdout',
        })),
        ...analysisMetrics(input.validation),
      ],
    },
    ...(considerations ? { considerations } : {}),
    // The model card has no field for a threshold or a verdict; properties keep them next to the
    // metrics they judge.
    properties: [
      ...input.validation.metrics.flatMap((metric): CdxProperty[] =>
        metric.threshold
          ? [
              {
                name: `modelship:threshold:${metric.name}`,
                value: thresholdText(metric.threshold, metric.unit),
              },
              { name: `modelship:result:${metric.name}`, value: metric.passed ? 'passed' : 'failed' },
            ]
          : [],
      ),
      ...analysisProperties(input.validation),
      ...modelCardOwnerProperties(input.owners ?? []),
    ],
  };
}

function metricValue(value: number, unit: MetricResult['unit']): string {
  return unit === 'ms' ? `${value} ms` : String(value);
}

function thresholdText(
  threshold: NonNullable<MetricResult['threshold']>,
  unit: MetricResult['unit'],
): string {
  return 'min' in threshold
    ? `min ${metricValue(threshold.min, unit)}`
    : `max ${metricValue(threshold.max, unit)}`;
}

function externalReferences(input: ModelBomInput): CdxExternalReference[] {
  const references: CdxExternalReference[] = [];
  if (input.spec.repository) {
    references.push({
      type: 'vcs',
      url: input.spec.repository,
      comment: `spec ${input.spec.path} at commit ${input.spec.commit}`,
    });
  }
  // A repository path is covered by the vcs reference; a URI of its own is where the bytes came from.
  if (hasScheme(input.artifact.source)) {
    references.push({
      type: 'distribution',
      url: input.artifact.source,
      hashes: [sha256Hash(input.artifact.sha256)],
    });
  }
  for (const code of input.provenance?.trainingCode ?? []) {
    references.push({
      type: 'vcs',
      url: code.uri,
      comment: code.commit ? `training code at commit ${code.commit}` : 'training code',
      ...(code.sha256 ? { hashes: [sha256Hash(code.sha256)] } : {}),
    });
  }
  return references;
}

function tools(input: ModelBomInput): CdxComponent[] {
  return [
    { type: 'application', name: 'modelship', version: input.versions.modelship },
    { type: 'library', name: 'onnxruntime-node', version: input.versions.onnxruntime },
    ...sortedScanners(input.versions).map(
      ([name, version]): CdxComponent => ({ type: 'application', name, version }),
    ),
  ];
}

function metadataProperties(input: ModelBomInput): CdxProperty[] {
  const { scan, validation, policy } = input;
  const errors = scan.findings.filter((finding) => finding.severity === 'error').length;
  const warnings = scan.findings.length - errors;
  const properties: CdxProperty[] = [
    { name: 'modelship:environment', value: input.environment },
    { name: 'modelship:spec:path', value: input.spec.path },
    { name: 'modelship:spec:commit', value: input.spec.commit },
    ...(input.spec.repository ? [{ name: 'modelship:spec:repository', value: input.spec.repository }] : []),
    { name: 'modelship:bundle:digest', value: input.bundle.digest },
    { name: 'modelship:artifact:source', value: input.artifact.source },
    ...(input.owners ?? []).map((owner) => ({ name: 'modelship:owner', value: owner })),
    { name: 'modelship:validation:passed', value: String(validation.passed) },
    { name: 'modelship:validation:holdoutRows', value: String(validation.holdoutRows) },
    { name: 'modelship:validation:holdoutSha256', value: validation.holdoutSha256 },
    { name: 'modelship:scan:passed', value: String(scan.passed) },
    { name: 'modelship:scan:findings', value: `${errors} errors, ${warnings} warnings` },
    ...scan.checks.map((check) => ({
      name: `modelship:scan:check:${check.name}`,
      value: check.passed ? 'passed' : `failed${check.detail ? `: ${check.detail}` : ''}`,
    })),
  ];
  if (policy) {
    properties.push(
      { name: 'modelship:policy:passed', value: String(policy.passed) },
      { name: 'modelship:policy:summary', value: policy.summary },
    );
  }
  return properties;
}
