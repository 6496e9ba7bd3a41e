import { describe, expect, it } from 'vitest';
import { renderDetails } from '../../workflows/status.ts';

describe('renderDetails', () => {
  it('shows stage, metrics with verdicts and the rejection reason', () => {
    const markdown = renderDetails({
      model: 'iris',
      environment: 'staging',
      commit: '0123456789abcdef0123',
      stage: 'rejected',
      history: [],
      approvals: [],
      validation: [
        { name: 'accuracy', value: 0.62, passed: false },
        { name: 'latencyP99', value: 0.041, passed: true },
      ],
      rejection: { step: 'validating', type: 'ValidationFailed', message: 'accuracy 0.62 < min 0.85' },
    });
    expect(markdown).toContain('**iris** → `staging` at `0123456789ab`');
    expect(markdown).toContain('**Stage:** rejected');
    expect(markdown).toContain('| accuracy | 0.6200 | FAIL |');
    expect(markdown).toContain('| latencyP99 | 0.041 ms | pass |');
    expect(markdown).toContain('**Rejected at validating** (ValidationFailed): accuracy 0.62 < min 0.85');
  });
});
