/**
 * The approval-relevant lines of the Web UI details, from a real validation report: iris v1
 * validated for real (onnxruntime-node in the isolated child) on the committed holdout.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createArtifactActivities } from '../../activities/artifact.ts';
import { createValidateActivities, type ValidationReport } from '../../activities/validate.ts';
import { initialState } from '../../workflows/deployment-state.ts';
import { renderDetails } from '../../workflows/details.ts';
import { summariseValidation } from '../../workflows/validation-summary.ts';
import {
  deploymentRef,
  directoryTrees,
  exampleInterface,
  tempDir,
  testSources,
  version,
} from '../activities/support.ts';

describe('the validation summary in the Web UI details', () => {
  let home: Awaited<ReturnType<typeof tempDir>>;
  let report: ValidationReport;

  beforeAll(async () => {
    home = await tempDir('validation-summary');
    const model = version('iris', 'v1');
    const artifact = await createArtifactActivities({
      home: home.path,
      trees: directoryTrees(),
    }).resolveArtifact({ deployment: deploymentRef(), source: model.path, sha256: model.sha256 });
    report = await createValidateActivities({ home: home.path, ...testSources(home.path) }).validateModel({
      deployment: deploymentRef(),
      artifact,
      interface: exampleInterface('iris'),
      validation: {
        holdout: { path: 'models/iris/holdout.csv', labelColumn: 'label', predictionOutput: 'label' },
        metrics: { accuracy: { min: 0.85 } },
      },
    });
  }, 60_000);
  afterAll(async () => {
    await home.remove();
  });

  function details(summaryReport: ValidationReport): string {
    const state = initialState({
      model: 'iris',
      environment: 'staging',
      commit: 'c'.repeat(40),
      modelSource: 'models/iris/v1/model.onnx',
    });
    state.validation = summaryReport.metrics.map(({ name, value, passed }) => ({ name, value, passed }));
    const summary = summariseValidation(summaryReport);
    if (summary) state.validationSummary = summary;
    return renderDetails(state);
  }

  it('adds the weakest class, the top three features and why stable was not compared, one per line', () => {
    const summary = summariseValidation(report);
    const perClass = report.analysis?.classes.perClass ?? [];
    const weakest = Math.min(...perClass.map((c) => c.f1));
    expect(summary?.worstClass?.f1).toBe(weakest);
    expect(summary?.topFeatures?.map((f) => f.feature)).toEqual(
      report.explanations?.importance?.features.slice(0, 3).map((f) => f.feature),
    );
    // Small: it rides in the state the status query returns at every change.
    expect(JSON.stringify(summary).length).toBeLessThan(600);
    const block = details(report)
      .split('\n')
      .find((line) => line.startsWith('**Offline validation:**'));
    const lines = block?.split('<br>') ?? [];
    expect(lines[1]).toMatch(/^• accuracy 0\.\d{4}: pass$/);
    expect(lines).toContainEqual(
      expect.stringMatching(/^• Weakest class: \d, F1 [0-9.]+, recall [0-9.]+ \(15 rows\)$/),
    );
    expect(lines).toContainEqual(
      expect.stringMatching(
        /^• Top features: petal_\w+ \([0-9.]+\), petal_\w+ \([0-9.]+\), sepal_\w+ \([-0-9.]+\)$/,
      ),
    );
    expect(lines).toContainEqual(`• Not compared with stable: ${report.explanations?.shiftUnavailable}`);
    // The renderer's rules: no pipe tables.
    expect(details(report)).not.toMatch(/^\|/m);
  });

  it('names a failing slice before any weaker passing one, and the overlap with stable', () => {
    const holdoutAccuracy = report.metrics.find((m) => m.name === 'accuracy')?.value ?? 0;
    const group = (value: string, accuracy: number, passed: boolean) => ({
      value,
      rows: 15,
      accuracy,
      f1Macro: accuracy,
      gap: holdoutAccuracy - accuracy,
      judged: true,
      passed,
      ...(passed ? {} : { below: ['minAccuracy' as const] }),
    });
    const analysis = report.analysis;
    const importance = report.explanations?.importance;
    if (!analysis || !importance) throw new Error('iris reports carry the analysis');
    const sliced: ValidationReport = {
      ...report,
      analysis: {
        ...analysis,
        slices: [
          {
            column: 'site',
            minRows: 10,
            minAccuracy: 0.85,
            holdoutAccuracy,
            groupCount: 3,
            groups: [group('tiny', 0.5, true), group('east', 0.8, false), group('north', 1, true)],
            failingGroups: 1,
            passed: false,
          },
        ],
      },
      explanations: {
        importance,
        shift: {
          k: 3,
          topStable: ['a', 'b', 'c'],
          topCandidate: ['a', 'b', 'd'],
          overlap: 2,
          entered: ['d'],
          left: ['c'],
          commonFeatures: 4,
          kendallTau: 0.6667,
          stable: { version: 'abc123def456', bundleDigest: 'f'.repeat(64) },
        },
      },
    };
    const text = details(sliced);
    expect(text).toContain('<br>• **Failing slice**: site="east", accuracy 0.8 on 15 rows<br>');
    expect(text).toContain(
      '• Against stable `abc123def456`: 2 of the top 3 features shared, Kendall tau 0.6667',
    );
    expect(summariseValidation({})).toBeUndefined();
  });
});
