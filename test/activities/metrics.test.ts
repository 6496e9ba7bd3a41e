import { describe, expect, it } from 'vitest';
import { parseHoldoutCsv } from '../../model/holdout.ts';
import { accuracy, describeMetric, f1Macro, judgeMetrics, percentile } from '../../model/metrics.ts';
import { interfaceMismatches } from '../../model/session.ts';

describe('metrics', () => {
  it('computes accuracy and macro F1 as scikit-learn does', () => {
    // The example from scikit-learn's f1_score documentation: macro F1 is 0.2667.
    const truth = [0, 1, 2, 0, 1, 2];
    const guess = [0, 2, 1, 0, 0, 1];
    expect(accuracy(truth, guess)).toBeCloseTo(1 / 3, 10);
    expect(f1Macro(truth, guess)).toBeCloseTo(0.26666666666666666, 10);
    // A class that is only ever predicted counts, with F1 0.
    expect(f1Macro([0, 0, 1], [0, 2, 1])).toBeCloseTo((2 / 3 + 1 + 0) / 3, 10);
    expect(f1Macro([1, 1], [1, 1])).toBe(1);
  });

  it('takes nearest-rank percentiles', () => {
    const samples = Array.from({ length: 200 }, (_, i) => i + 1);
    expect(percentile(samples, 50)).toBe(100);
    expect(percentile(samples, 99)).toBe(198);
    expect(percentile([7], 99)).toBe(7);
  });

  it('judges only the metrics the spec sets, with latency thresholds in milliseconds', () => {
    const results = judgeMetrics(
      { accuracy: 0.62, f1Macro: 0.6, latencyP50: 0.02, latencyP99: 0.041 },
      { accuracy: { min: 0.9 }, latencyP99: { max: '500us', maxMs: 0.5 } },
    );
    expect(results).toEqual([
      { name: 'accuracy', value: 0.62, unit: 'ratio', threshold: { min: 0.9 }, passed: false },
      { name: 'f1Macro', value: 0.6, unit: 'ratio', passed: true },
      { name: 'latencyP50', value: 0.02, unit: 'ms', passed: true },
      { name: 'latencyP99', value: 0.041, unit: 'ms', threshold: { max: 0.5 }, passed: true },
    ]);
    expect(results.map(describeMetric)).toEqual([
      'accuracy 0.62 < min 0.9',
      'f1Macro 0.6 (no threshold)',
      'latencyP50 0.02ms (no threshold)',
      'latencyP99 0.041ms ok (max 0.5ms)',
    ]);
  });
});

describe('parseHoldoutCsv', () => {
  it('reads features in file order around a label column anywhere', () => {
    const result = parseHoldoutCsv('\uFEFFa,"label",b\r\n1.5,2,3\r\n\r\n-4,0,5e-1\r\n', 'label', 'h.csv');
    expect(result).toEqual({
      ok: true,
      data: {
        featureNames: ['a', 'b'],
        rows: 2,
        features: Float64Array.from([1.5, 3, -4, 0.5]),
        labels: Int32Array.from([2, 0]),
      },
    });
  });

  it('explains a missing label column and an empty file', () => {
    expect(parseHoldoutCsv('a,b,target\n1,2,0\n', 'label', 'h.csv')).toEqual({
      ok: false,
      errors: ['h.csv: no label column "label" in the header (columns: a, b, target)'],
    });
    expect(parseHoldoutCsv('\n\n', 'label', 'h.csv')).toEqual({
      ok: false,
      errors: ['h.csv: the file is empty'],
    });
    expect(parseHoldoutCsv('a,label\n', 'label', 'h.csv')).toEqual({
      ok: false,
      errors: ['h.csv: the header is there but no data rows'],
    });
  });

  it('lists at most ten bad rows and counts the rest', () => {
    const rows = Array.from({ length: 15 }, () => '1,,0').join('\n');
    const result = parseHoldoutCsv(`a,b,label\n${rows}\n`, 'label', 'h.csv');
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.errors).toHaveLength(11);
    expect(result.errors[0]).toBe('h.csv: line 2, column "b": "" is not a number');
    expect(result.errors[10]).toBe('h.csv: 5 more error(s) not shown');
  });
});

describe('interfaceMismatches', () => {
  const spec = {
    inputs: [{ name: 'input', dtype: 'float32' as const, shape: [-1, 4] }],
    outputs: [{ name: 'label', dtype: 'int64' as const, shape: [-1] }],
  };

  it('accepts a symbolic dimension where the spec says -1, and extra model outputs', () => {
    const model = {
      inputs: [{ name: 'input', dtype: 'float32', shape: [-1, 4] }],
      outputs: [
        { name: 'label', dtype: 'int64', shape: [-1] },
        { name: 'extra', dtype: 'float32', shape: [-1, 3] },
      ],
    };
    expect(interfaceMismatches(model, spec)).toEqual([]);
  });

  it('reports rank, fixed-versus-dynamic and non-tensor differences', () => {
    const model = {
      inputs: [{ name: 'input', dtype: 'float32', shape: [1, 4, 1] }],
      outputs: [{ name: 'label', dtype: 'non-tensor', shape: [] }],
    };
    expect(interfaceMismatches(model, spec)).toEqual([
      'input "input" has rank 3 in the model [1, 4, 1], rank 2 in the spec [-1, 4]',
      'output "label" is not a tensor in the model',
    ]);
    const fixed = { ...model, inputs: [{ name: 'input', dtype: 'float32', shape: [1, 4] }] };
    expect(interfaceMismatches(fixed, spec)[0]).toBe(
      'input "input" dimension 0 is 1 in the model, dynamic (-1) in the spec (model shape [1, 4], spec shape [-1, 4])',
    );
  });
});
