/**
 * The part of the CycloneDX 1.6 JSON format the model BOM uses, as TypeScript types: enough to
 * catch a misspelt field while building, with the schema itself (`validateBom`) as the judge.
 */

export interface CdxHash {
  alg: 'SHA-256';
  content: string;
}

export interface CdxProperty {
  name: string;
  value: string;
}

export interface CdxExternalReference {
  type: 'vcs' | 'distribution' | 'build-meta' | 'other';
  url: string;
  comment?: string;
  hashes?: CdxHash[];
}

/** `modelCard.modelParameters.inputs[]` / `outputs[]`: one free-text format per tensor. */
export interface CdxModelIo {
  format: string;
}

export interface CdxPerformanceMetric {
  type: string;
  value: string;
  slice?: string;
}

/** `modelCard.considerations`: what the spec's `metadata.modelCard` states (`model-card.ts`). */
export interface CdxModelCardConsiderations {
  useCases?: string[];
  technicalLimitations?: string[];
  ethicalConsiderations?: { name: string; mitigationStrategy?: string }[];
}

export interface CdxModelCard {
  'bom-ref'?: string;
  modelParameters: {
    task?: string;
    datasets?: { ref: string }[];
    inputs: CdxModelIo[];
    outputs: CdxModelIo[];
  };
  quantitativeAnalysis: { performanceMetrics: CdxPerformanceMetric[] };
  considerations?: CdxModelCardConsiderations;
  properties?: CdxProperty[];
}

export interface CdxComponent {
  type: 'application' | 'library' | 'file' | 'data' | 'machine-learning-model';
  'bom-ref'?: string;
  name: string;
  version?: string;
  description?: string;
  hashes?: CdxHash[];
  externalReferences?: CdxExternalReference[];
  data?: { type: 'dataset'; name?: string; description?: string; contents?: { url: string } }[];
  modelCard?: CdxModelCard;
  properties?: CdxProperty[];
}

/** A CycloneDX 1.6 BOM as `buildModelBom` writes it. */
export interface CdxBom {
  $schema: string;
  bomFormat: 'CycloneDX';
  specVersion: '1.6';
  serialNumber: string;
  version: number;
  metadata: {
    timestamp: string;
    lifecycles: { phase: 'build' }[];
    tools: { components: CdxComponent[] };
    component: CdxComponent;
    properties: CdxProperty[];
  };
  components: CdxComponent[];
  /** Present when the model depends on something listed (its training data). */
  dependencies?: { ref: string; dependsOn: string[] }[];
}

export function sha256Hash(hex: string): CdxHash {
  return { alg: 'SHA-256', content: hex };
}
