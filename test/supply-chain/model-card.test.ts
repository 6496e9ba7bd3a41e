/**
 * The model card renderer on real validation reports: iris v1 and v2 validated for real
 * (onnxruntime-node in the isolated child) on the committed holdout with a slice column added,
 * v2's importances compared with v1's as validation compares them with a stable version's.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createArtifactActivities } from '../../activities/artifact.ts';
import { createValidateActivities, type ValidationReport } from '../../activities/validate.ts';
import { importanceShift } from '../../model/report/importance.ts';
import { buildModelBom, type ModelBomInput } from '../../supply-chain/evidence/model-bom.ts';
import { type ModelCardInput, modelCardMarkdown } from '../../supply-chain/evidence/model-card.ts';
import { validateBom } from '../../supply-chain/evidence/validate-bom.ts';
import {
  deploymentRef,
  directoryTrees,
  exampleInterface,
  REPO_ROOT,
  tempDir,
  testSources,
  version,
} from '../activities/support.ts';

const CARD = {
  intendedUse: 'Teaching and demos: sorting iris flowers into three species from four measurements.',
  outOfScope: ['Any decision about living plants in the field'],
  limitations: ['Trained on 150 flowers from one region', 'Sepal features barely matter | see importance'],
  ethicalConsiderations: ['None known: no data about people'],
};

describe('the model card', () => {
  let home: Awaited<ReturnType<typeof tempDir>>;
  let v1: ValidationReport;
  let v2: ValidationReport;

  beforeAll(async () => {
    home = await tempDir('model-card');
    // The committed iris holdout with a `site` column, as the validation report's own test makes it.
    const repo = join(home.path, 'sliced');
    await mkdir(repo, { recursive: true });
    const [header, ...lines] = (await readFile(join(REPO_ROOT, 'models/iris/holdout.csv'), 'utf8'))
      .trim()
      .split('\n');
    const sited = lines.map((line) => {
      const cells = line.split(',');
      const label = cells.at(-1);
      const site = label === '0' ? 'north' : label === '1' ? 'south' : 'east';
      return [cells[0], site, ...cells.slice(1)].join(',');
    });
    const columns = (header ?? '').split(',');
    await writeFile(
      join(repo, 'holdout.csv'),
      `${[columns[0], 'site', ...columns.slice(1)].join(',')}\n${sited.join('\n')}\n`,
    );
    const { validateModel } = createValidateActivities({ home: home.path, ...testSources(home.path) });
    const validate = async (v: string) => {
      const model = version('iris', v);
      const artifact = await createArtifactActivities({
        home: home.path,
        trees: directoryTrees(),
      }).resolveArtifact({ deployment: deploymentRef(), source: model.path, sha256: model.sha256 });
      return validateModel({
        deployment: deploymentRef(repo),
        artifact,
        interface: exampleInterface('iris'),
        validation: {
          holdout: {
            path: 'holdout.csv',
            labelColumn: 'label',
            predictionOutput: 'label',
            probabilityOutput: 'probabilities',
          },
          metrics: { accuracy: { min: 0.85 } },
          slices: [{ column: 'site', minAccuracy: 0.75, maxAccuracyGap: 0.15, minRows: 10 }],
        },
      });
    };
    v1 = await validate('v1');
    v2 = await validate('v2');
    const stable = v1.explanations?.importance;
    const candidate = v2.explanations?.importance;
    if (!stable || !candidate) throw new Error('iris reports carry importances');
    v2 = {
      ...v2,
      explanations: {
        ...v2.explanations,
        shift: {
          ...importanceShift(stable, candidate, 3),
          stable: { version: 'abc123def456', bundleDigest: 'f'.repeat(64) },
        },
      },
    };
  }, 60_000);
  afterAll(async () => {
    await home.remove();
  });

  function cardInput(report: ValidationReport): ModelCardInput {
    return {
      model: 'iris',
      environment: 'production',
      description: 'Iris species from sepal and petal measurements.',
      owners: ['ml-platform', 'botany'],
      card: CARD,
      interface: exampleInterface('iris'),
      validation: report,
      holdoutPath: 'models/iris/holdout.csv',
      provenance: {
        trainingData: [{ uri: 'sklearn.datasets.load_iris', sha256: 'a'.repeat(64) }],
        trainingCode: [{ uri: 'https://git.example.com/ml/iris', commit: 'b'.repeat(40) }],
      },
      spec: { path: 'specs/iris.yaml', commit: 'c'.repeat(40) },
      bundleDigest: 'd'.repeat(64),
      artifact: { source: version('iris', 'v2').path, sha256: version('iris', 'v2').sha256 },
      createdAt: '2026-12-06T00:00:00.000Z',
    };
  }

  it('renders every section a reviewer reads, from the real report', () => {
    const markdown = modelCardMarkdown(cardInput(v2));
    const headings = markdown.split('\n').filter((line) => /^##? /.test(line));
    expect(headings).toEqual([
      '# Model card: iris',
      '## Intended use',
      '## Limitations',
      '## Ethical considerations',
      '## Headline metrics',
      '## Per class',
      '## Confusion matrix',
      '## Calibration',
      '## Slices',
      '## What drives its predictions',
      '## Against the stable version',
      '## Training provenance',
      '## Digests',
    ]);
    expect(markdown).toContain('- Owners: ml-platform, botany');
    expect(markdown).toContain('- Any decision about living plants in the field');
    // A pipe inside a list item is plain text; only table cells escape it.
    expect(markdown).toContain('- Sepal features barely matter | see importance');
    const accuracy = v2.metrics.find((metric) => metric.name === 'accuracy');
    expect(markdown).toContain(`| accuracy | ${Number(accuracy?.value.toFixed(4))} | ≥ 0.85 | pass |`);
    // Per class: one row per class, with its support, adding up to the holdout.
    for (const cls of v2.analysis?.classes.perClass ?? []) {
      expect(markdown).toMatch(
        new RegExp(
          `^\\| ${cls.class} \\| [0-9.]+ \\| [0-9.]+ \\| [0-9.]+ \\| ${cls.support} \\| ${cls.predicted} \\|$`,
          'm',
        ),
      );
    }
    expect(markdown).toContain('| true \\ predicted | 0 | 1 | 2 |');
    expect(markdown).toMatch(/expected calibration error [0-9.]+/);
    expect(markdown).toContain('### `site`: pass');
    expect(markdown).toMatch(/^\| "east" \| 15 \| [0-9.]+ \| [0-9.]+ \| [0-9.-]+ \| pass \|$/m);
    // The chart GitHub renders: the features most important first, as the table ranks them.
    const features = v2.explanations?.importance?.features ?? [];
    expect(markdown).toContain('```mermaid\nxychart-beta\n');
    expect(markdown).toContain(`  x-axis [${features.map((f) => `"${f.feature}"`).join(', ')}]`);
    expect(markdown).toMatch(/^ {2}bar \[[-0-9., ]+\]$/m);
    expect(markdown).toContain(`| 1 | \`${features[0]?.feature}\` |`);
    expect(markdown).toMatch(
      /Stable version `abc123def456` \(bundle `ffffffffffff`\): [0-3] of the top 3 features shared/,
    );
    expect(markdown).toContain(`- \`sklearn.datasets.load_iris\`, sha256 \`${'a'.repeat(64)}\``);
    expect(markdown).toContain(`- Bundle: \`${'d'.repeat(64)}\``);
    expect(markdown).toContain(`sha256 \`${v2.holdoutSha256}\``);
    // Deterministic: the manifest lists its sha256, so the same input must give the same bytes.
    expect(modelCardMarkdown(cardInput(v2))).toBe(markdown);
  });

  it('says what is missing rather than leaving sections out', () => {
    const { card: _card, provenance: _provenance, ...bare } = cardInput(v1);
    const markdown = modelCardMarkdown(bare);
    expect(markdown).toContain('Not stated: the spec has no `metadata.modelCard`.');
    expect(markdown).toContain('Not declared: the spec has no `spec.provenance`.');
    expect(markdown).toContain(`Not compared: ${v1.explanations?.shiftUnavailable}`);
  });

  it('puts the considerations and owners into a BOM that still validates against CycloneDX 1.6', async () => {
    const input = cardInput(v2);
    const bomInput: ModelBomInput = {
      model: input.model,
      environment: input.environment,
      spec: input.spec,
      bundle: { digest: input.bundleDigest, files: [] },
      artifact: input.artifact,
      ...(input.provenance ? { provenance: input.provenance } : {}),
      versions: { modelship: '0.0.0', onnxruntime: v2.onnxruntimeVersion },
      owners: input.owners,
      card: CARD,
      interface: input.interface,
      validation: v2,
      scan: { passed: true, findings: [], checks: [] },
      ...(v2.profile ? { profile: v2.profile } : {}),
      timestamp: input.createdAt,
    };
    const bom = buildModelBom(bomInput);
    expect(await validateBom(bom)).toEqual([]);
    const card = bom.metadata.component.modelCard;
    expect(card?.considerations).toEqual({
      useCases: [CARD.intendedUse],
      technicalLimitations: [
        ...CARD.limitations,
        'Out of scope: Any decision about living plants in the field',
      ],
      ethicalConsiderations: [{ name: 'None known: no data about people' }],
    });
    expect(card?.properties?.filter((p) => p.name === 'modelship:owner').map((p) => p.value)).toEqual([
      'ml-platform',
      'botany',
    ]);
    expect(card?.quantitativeAnalysis.performanceMetrics.map((m) => m.slice)).toContain('site="east"');
    // Without metadata.modelCard the card has no considerations and still validates.
    const { card: _unused, ...withoutCard } = bomInput;
    const plain = buildModelBom(withoutCard);
    expect(plain.metadata.component.modelCard?.considerations).toBeUndefined();
    expect(await validateBom(plain)).toEqual([]);
  });
});
