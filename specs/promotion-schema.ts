/**
 * `spec.promotion`: the environment this spec deploys to takes only what passed another. With
 * `from: staging`, DeployModel refuses a model artifact (`spec.model.sha256`) that did not serve
 * all traffic in staging for `minSoak`, with the verdicts `require` names; `modelship promote`
 * writes the commit that moves an artifact here once it has. The judgement is made on the audit
 * log (`release/promotion.ts`).
 */
import { z } from 'zod';
import { DURATION_PATTERN, parseDuration } from './duration.ts';

/** What the run that brought the artifact to `from`, and its time there, must show. */
export const PROMOTION_REQUIREMENTS = ['analysis', 'approval', 'quiet-monitor'] as const;

const Promotion = z
  .strictObject({
    from: z
      .string()
      .regex(/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/, 'must be an environment name (a DNS label)')
      .describe('The environment whose passed versions this one takes, e.g. staging.'),
    minSoak: z
      .string()
      .regex(DURATION_PATTERN, 'must be a duration such as 30m, 24h or 7d')
      .default('0s')
      .describe(
        'How long the artifact must have served all traffic there (until now, or until a newer version replaced it).',
      ),
    require: z
      .array(z.enum(PROMOTION_REQUIREMENTS))
      .default([])
      .describe(
        'What else it must have shown there: analysis (a canary or shadow step passed and none failed), approval (someone approved it), quiet-monitor (its monitor raised no finding).',
      ),
  })
  .transform((promotion) => ({ ...promotion, minSoakMs: parseDuration(promotion.minSoak) }))
  .describe('Take only what passed another environment first.');

export const PromotionSchema = Promotion;
/** `spec.promotion` after parsing. */
export type PromotionSpec = z.output<typeof Promotion>;
