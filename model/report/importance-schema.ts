/**
 * The importance report as another version's bundle manifest holds it
 * (`validation.explanations.importance`), parsed loosely: only what the shift compares is
 * required, anything else a later or earlier modelship wrote is ignored, and a manifest without
 * the report (bundles from before it) is told apart from a malformed one. The manifest came from
 * disk or a registry, so nothing in it is trusted beyond this shape.
 */
import { z } from 'zod';
import type { RankedFeatures } from './importance.ts';
import { MAX_IMPORTANCE_FEATURES } from './importance.ts';

const RankedFeaturesSchema = z.object({
  features: z
    .array(
      z.object({
        feature: z.string().max(1000),
        column: z.number().int().nonnegative(),
        mean: z.number(),
      }),
    )
    .max(MAX_IMPORTANCE_FEATURES),
});

const ManifestImportanceSchema = z.object({
  validation: z
    .object({
      explanations: z.object({ importance: z.unknown().optional() }).optional(),
    })
    .optional(),
});

/** The stable's ranked features, `missing` when the manifest has none, or what is wrong with them. */
export function importanceInManifest(
  manifest: unknown,
): { ok: true; importance: RankedFeatures } | { ok: false; missing: boolean; reason: string } {
  const outer = ManifestImportanceSchema.safeParse(manifest);
  const raw = outer.success ? outer.data.validation?.explanations?.importance : undefined;
  if (raw === undefined) {
    return {
      ok: false,
      missing: true,
      reason: 'its bundle has no importance report (packaged before it existed, or with importance off)',
    };
  }
  const parsed = RankedFeaturesSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return {
      ok: false,
      missing: false,
      reason: `its importance report is malformed: ${issue?.path.join('.') || '(root)'}: ${issue?.message ?? 'invalid'}`,
    };
  }
  return { ok: true, importance: parsed.data };
}
