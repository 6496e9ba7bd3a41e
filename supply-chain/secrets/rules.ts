/**
 * The secretlint configuration modelship scans with: the maintained recommended preset, with two
 * deliberate changes for a gate that reads files an untrusted author wrote.
 */
import type { lintSource } from '@secretlint/core';
import { creator as recommendedPreset } from '@secretlint/secretlint-rule-preset-recommend';

/** Taken from `lintSource` itself: `@secretlint/types` is only a transitive dependency. */
type SecretlintConfig = Parameters<typeof lintSource>[0]['options']['config'];

export const PRESET_ID = '@secretlint/secretlint-rule-preset-recommend';

/**
 * The rule that honours `secretlint-disable` comments. A spec or README author could use it to
 * silence the very scan that checks their file, and a gate must not take orders from its input.
 * (`disabled: true` on a rule inside a preset is not honoured by `lintSource`, so the preset is
 * wrapped instead.)
 */
const COMMENT_DIRECTIVES_RULE = '@secretlint/secretlint-rule-filter-comments';

/** The recommended preset, registering every one of its rules but the comment directives. */
const presetWithoutCommentDirectives: typeof recommendedPreset = {
  ...recommendedPreset,
  create(context, options) {
    recommendedPreset.create(
      {
        sharedOptions: context.sharedOptions,
        registerRule(rule, defaults) {
          if (rule.meta.id !== COMMENT_DIRECTIVES_RULE) context.registerRule(rule, defaults);
        },
      },
      options,
    );
  },
};

export const SECRETLINT_CONFIG: SecretlintConfig = {
  rules: [
    {
      id: PRESET_ID,
      rule: presetWithoutCommentDirectives,
      rules: [
        {
          id: '@secretlint/secretlint-rule-aws',
          // Off by default in the preset, so a bare access key id (AKIA…) would pass; an id next
          // to its secret is exactly what leaks from a notebook into a spec or model metadata.
          options: { enableIDScanRule: true },
          // An account id identifies an account but grants nothing (AWS does not treat it as a
          // secret), and the 12-digit pattern hits ordinary numbers after an "account" key.
          allowMessageIds: ['AWSAccountID'],
        },
      ],
    },
  ],
};
