/** Types callers rely on: a parsed step narrows by `type`, and parse results never need a cast. */
import { describe, expectTypeOf, it } from 'vitest';
import type { ParseSpecResult } from '../../specs/parse.ts';
import type { ModelDeployment, ModelDeploymentInput, Step } from '../../specs/schema.ts';

describe('types', () => {
  it('narrow a Step by its type', () => {
    expectTypeOf<Extract<Step, { type: 'setWeight' }>>().toEqualTypeOf<{
      type: 'setWeight';
      weight: number;
    }>();
    expectTypeOf<Extract<Step, { type: 'analysis' }>['interval']>().toEqualTypeOf<string>();
    expectTypeOf<Extract<Step, { type: 'approval' }>['approvers']>().toEqualTypeOf<string[]>();
    expectTypeOf<Step['type']>().toEqualTypeOf<'shadow' | 'setWeight' | 'pause' | 'analysis' | 'approval'>();
  });

  it('narrow in a switch, exhaustively', () => {
    const describe = (step: Step): string => {
      switch (step.type) {
        case 'setWeight':
          expectTypeOf(step.weight).toEqualTypeOf<number>();
          return `${step.weight}%`;
        case 'shadow':
          expectTypeOf(step.minAgreement).toEqualTypeOf<number>();
          return step.duration;
        case 'pause':
        case 'analysis':
          return step.duration;
        case 'approval':
          return step.timeout;
        default:
          // Compiles only while every kind above is handled.
          expectTypeOf(step).toEqualTypeOf<never>();
          return step;
      }
    };
    expectTypeOf(describe).returns.toEqualTypeOf<string>();
  });

  it('give defaults as required on output and optional on input', () => {
    expectTypeOf<ModelDeployment['spec']['analysis']['minRequests']>().toEqualTypeOf<number>();
    expectTypeOf<NonNullable<ModelDeploymentInput['spec']['analysis']>>().toHaveProperty('minRequests');
    expectTypeOf<ModelDeploymentInput['spec']['analysis']>().toMatchTypeOf<undefined | object>();
  });

  it('give the spec only on success', () => {
    expectTypeOf<Extract<ParseSpecResult, { ok: true }>['spec']>().toEqualTypeOf<ModelDeployment>();
    expectTypeOf<Extract<ParseSpecResult, { ok: false }>>().not.toHaveProperty('spec');
  });
});
