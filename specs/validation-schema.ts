/**
 * The parts of `spec.validation` that go past the headline metrics: slices of the holdout judged
 * on their own (fairness across groups) and permutation feature importance. Kept apart from
 * `schema.ts` so the validation report's options read in one place; `schema.ts` mounts them.
 */
import { z } from 'zod';
import { DURATION_PATTERN, parseDuration } from './duration.ts';

const fraction = z.number().min(0, 'must be between 0 and 1').max(1, 'must be between 0 and 1');

/** The most slice columns a spec may name (each adds a table to the report). */
export const MAX_SLICES = 8;

export const SliceSchema = z
  .strictObject({
    column: z
      .string()
      .min(1)
      .describe(
        'A column of the holdout CSV that is not a model input (a region, an age band, a site); its values need not be numbers. Each value makes a group of rows scored on its own.',
      ),
    minAccuracy: fraction
      .optional()
      .describe('Lowest acceptable accuracy of every group with at least minRows rows.'),
    maxAccuracyGap: fraction
      .optional()
      .describe(
        "How far a group's accuracy may fall below the accuracy on the whole holdout (0.05 = 5 points).",
      ),
    minRows: z
      .int()
      .min(1, 'must be at least 1')
      .default(20)
      .describe('Groups with fewer rows are reported but not judged: too few rows to tell.'),
  })
  .describe('One slicing column of the holdout and the floors each of its groups must meet.');
export type SliceSpec = z.output<typeof SliceSchema>;

export const SlicesSchema = z
  .array(SliceSchema)
  .min(1, 'list at least one slice, or leave slices out')
  .max(MAX_SLICES, `at most ${MAX_SLICES} slices`)
  .describe(
    'Columns of the holdout to score the model per group of; a judged group below a floor fails validation, naming the column, the value, its rows and accuracy.',
  );

export const ImportanceSchema = z
  .strictObject({
    enabled: z
      .boolean()
      .default(true)
      .describe('Whether validation measures permutation feature importance (on by default).'),
    repeats: z
      .int()
      .min(1, 'must be at least 1')
      .max(20, 'must be at most 20')
      .default(5)
      .describe('Shuffles per feature; the report gives the mean drop in accuracy and its spread.'),
    maxRows: z
      .int()
      .min(10, 'must be at least 10')
      .max(20000, 'must be at most 20000')
      .default(2000)
      .describe('Holdout rows used, a seeded random sample when the holdout has more.'),
    seed: z.int().min(0).default(0).describe('Seed of the sample and the shuffles: same seed, same report.'),
    budget: z
      .string()
      .regex(DURATION_PATTERN, 'must be a duration such as 500us, 250ms, 30s, 5m, 2h or 1d')
      .default('60s')
      .describe(
        'Time the model may spend on the shuffled rows; fewer rows are used when the holdout pass says it would take longer.',
      ),
    topK: z
      .int()
      .min(1, 'must be at least 1')
      .max(20, 'must be at most 20')
      .default(5)
      .describe("How many top features are compared with the stable version's (reported, not judged)."),
  })
  .transform((importance) => ({ ...importance, budgetMs: parseDuration(importance.budget) }))
  .describe(
    "Permutation feature importance on the holdout: each input column shuffled in turn, the model run again, the drop in accuracy measured; compared with the stable version's.",
  );
export type ImportanceSpec = z.output<typeof ImportanceSchema>;

/**
 * The importance options of a spec: its defaults when it has none (specs from before the field),
 * the budget in milliseconds recomputed from its text, as `normaliseDurations` does for the
 * durations a workflow reads (this one only the validate activity reads).
 */
export function importanceOptions(spec: ImportanceSpec | undefined): ImportanceSpec {
  return spec ? { ...spec, budgetMs: parseDuration(spec.budget) } : ImportanceSchema.parse({});
}
