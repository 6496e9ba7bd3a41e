/**
 * `spec.promotion`: an environment that takes only what passed another. Durations parsed once,
 * requirements from a closed list, and errors with the line they are on.
 */
import { describe, expect, it } from 'vitest';
import { formatSpecError, parseSpec } from '../../specs/parse.ts';
import { exampleSpecYaml } from '../support/model-catalog.ts';

const specWith = (promotion: string, environment = 'production') =>
  exampleSpecYaml({ name: 'iris', dataset: 'iris', version: 'v1', environment, analysis: promotion });

function parsed(promotion: string, environment?: string) {
  return parseSpec(specWith(promotion, environment), { file: 'specs/iris-production.yaml' });
}

describe('spec.promotion', () => {
  it('is absent unless written, and parses minSoak into milliseconds', () => {
    const none = parsed('');
    expect(none.ok && none.spec.spec.promotion).toBeUndefined();
    const result = parsed(
      '  promotion:\n    from: staging\n    minSoak: 24h\n    require: [analysis, approval]\n',
    );
    if (!result.ok) throw new Error(result.errors.map(formatSpecError).join('\n'));
    expect(result.spec.spec.promotion).toEqual({
      from: 'staging',
      minSoak: '24h',
      minSoakMs: 86_400_000,
      require: ['analysis', 'approval'],
    });
  });

  it('refuses, with the line, an environment taking from itself, a bad duration and an unknown requirement', () => {
    const cases: [string, string][] = [
      ['  promotion:\n    from: production\n', 'must name another environment than spec.rollout.environment'],
      ['  promotion:\n    from: staging\n    minSoak: a day\n', 'must be a duration such as 30m, 24h or 7d'],
      ['  promotion:\n    from: staging\n    require: [tests]\n', 'spec.promotion.require'],
      ['  promotion:\n    from: Staging!\n', 'must be an environment name'],
      ['  promotion:\n    form: staging\n', 'unknown field "form"'],
    ];
    for (const [yaml, message] of cases) {
      const result = parsed(yaml);
      expect(result.ok, yaml).toBe(false);
      const errors = result.ok ? [] : result.errors.map(formatSpecError);
      expect(errors.join('\n'), yaml).toContain(message);
      // Every error points into the promotion block: below the line `  promotion:` of the spec.
      const line = specWith(yaml).split('\n').indexOf('  promotion:') + 1;
      expect(errors[0], yaml).toMatch(
        new RegExp(`^specs/iris-production\\.yaml:(${line}|${line + 1}|${line + 2}|${line + 3}):`),
      );
    }
  });
});
