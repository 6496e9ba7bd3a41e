/**
 * `metadata.modelCard`: what the bundle's model card says beyond the numbers. Optional, lists
 * defaulted, and errors with the line they are on.
 */
import { describe, expect, it } from 'vitest';
import { formatSpecError, parseSpec } from '../../specs/parse.ts';
import { exampleSpecYaml } from '../support/model-catalog.ts';

const specWith = (card: string) =>
  exampleSpecYaml({ name: 'iris', dataset: 'iris', version: 'v1' }).replace(
    '  owners: [ml-platform]\n',
    `  owners: [ml-platform]\n${card}`,
  );

const parsed = (card: string) => parseSpec(specWith(card), { file: 'specs/iris.yaml' });

describe('metadata.modelCard', () => {
  it('is absent unless written; the lists it may leave out default to empty', () => {
    const none = parsed('');
    expect(none.ok && none.spec.metadata.modelCard).toBeUndefined();
    const result = parsed(
      '  modelCard:\n    intendedUse: Demos.\n    limitations: [One collection of flowers]\n',
    );
    if (!result.ok) throw new Error(result.errors.map(formatSpecError).join('\n'));
    expect(result.spec.metadata.modelCard).toEqual({
      intendedUse: 'Demos.',
      outOfScope: [],
      limitations: ['One collection of flowers'],
      ethicalConsiderations: [],
    });
  });

  it('refuses, with the line, a missing use, no limitations, an empty entry and an unknown field', () => {
    const cases: [string, string][] = [
      ['  modelCard:\n    limitations: [x]\n', 'metadata.modelCard.intendedUse'],
      ['  modelCard:\n    intendedUse: Demos.\n    limitations: []\n', 'name at least one known limitation'],
      [
        '  modelCard:\n    intendedUse: Demos.\n    limitations: [x]\n    outOfScope: ["  "]\n',
        'must not be empty',
      ],
      [
        '  modelCard:\n    intendedUse: Demos.\n    limitations: [x]\n    risks: [y]\n',
        'unknown field "risks"',
      ],
    ];
    for (const [yaml, message] of cases) {
      const result = parsed(yaml);
      expect(result.ok, yaml).toBe(false);
      const errors = result.ok ? [] : result.errors.map(formatSpecError);
      expect(errors.join('\n'), yaml).toContain(message);
      // Every error points into the modelCard block, the lines after `  modelCard:`.
      const line = specWith(yaml).split('\n').indexOf('  modelCard:') + 1;
      expect(errors[0], yaml).toMatch(
        new RegExp(`^specs/iris\\.yaml:(${line}|${line + 1}|${line + 2}|${line + 3}):`),
      );
    }
  });
});
