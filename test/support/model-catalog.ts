/** The committed example models (`models/SHA256SUMS`), for tests that need real digests. */
import { readFileSync } from 'node:fs';
import { repoPath } from './paths.ts';

const sums = new Map<string, string>(
  readFileSync(repoPath('models/SHA256SUMS'), 'utf8')
    .trim()
    .split('\n')
    .map((line) => {
      const [digest, path] = line.split(/\s+/);
      return [`models/${path}`, digest ?? ''] as const;
    }),
);

/** sha256 of a committed file under `models/`, e.g. `models/iris/v2/model.onnx`. */
export function committedDigest(path: string): string {
  const digest = sums.get(path);
  if (!digest) throw new Error(`${path} is not listed in models/SHA256SUMS`);
  return digest;
}

export interface ExampleSpecOptions {
  name?: string;
  environment?: string;
  dataset: 'iris' | 'breast-cancer';
  version: string;
  /** Overrides the digest pinned in the spec (defaults to the committed file's). */
  sha256?: string;
  minAccuracy?: number;
  /** The rollout steps as YAML list items, indented for `steps:` (default: 10 %, analysis, 100 %). */
  steps?: string[];
  postPromotionWindow?: string;
  /** Extra YAML under `spec:` (e.g. an `analysis:` block), indented two spaces. */
  analysis?: string;
}

const FEATURES = { iris: 4, 'breast-cancer': 30 } as const;
const CLASSES = { iris: 3, 'breast-cancer': 2 } as const;

/** A valid spec deploying one committed model, as YAML text. */
export function exampleSpecYaml(options: ExampleSpecOptions): string {
  const modelPath = `models/${options.dataset}/${options.version}/model.onnx`;
  return `apiVersion: modelship.dev/v1
kind: ModelDeployment
metadata:
  name: ${options.name ?? options.dataset}
  owners: [ml-platform]
spec:
  model:
    source: ${modelPath}
    sha256: ${options.sha256 ?? committedDigest(modelPath)}
  interface:
    inputs:
      - { name: input, dtype: float32, shape: [-1, ${FEATURES[options.dataset]}] }
    outputs:
      - { name: label, dtype: int64, shape: [-1] }
      - { name: probabilities, dtype: float32, shape: [-1, ${CLASSES[options.dataset]}] }
  validation:
    holdout:
      path: models/${options.dataset}/holdout.csv
      labelColumn: label
    metrics:
      accuracy: { min: ${options.minAccuracy ?? 0.85} }
      latencyP99: { max: 250ms }
  rollout:
    environment: ${options.environment ?? 'staging'}
    postPromotionWindow: ${options.postPromotionWindow ?? '5m'}
    steps:
${(options.steps ?? ['setWeight: 10', 'analysis: { duration: 1m }', 'setWeight: 100']).map((step) => `      - ${step}`).join('\n')}
${options.analysis ?? ''}`;
}
