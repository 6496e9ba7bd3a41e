/**
 * The holdout as a dataset of the model BOM, summarising the reference profile the bundle's
 * manifest carries: the model card lists it among `modelParameters.datasets` (CycloneDX's place
 * for the data a model was trained and evaluated on), and the component says in words and in
 * properties what the model was shown to work on. The profile itself stays in the manifest, where
 * the data plane reads it; the BOM, which is signed, names its sha256 so anyone can tell whether a
 * manifest's profile is the one packaged.
 */
import { createHash } from 'node:crypto';
import { canonicalJson } from '../../domain/canonical-json.ts';
import type { ClassCounts, FeatureProfile, ReferenceProfile } from '../../domain/reference-profile.ts';
import { type CdxComponent, type CdxProperty, sha256Hash } from './cyclonedx.ts';

/** `bom-ref` of the holdout dataset component. */
export const HOLDOUT_BOM_REF = 'holdout';

/** sha256 of the profile's canonical JSON (`domain/canonical-json.ts`), as the BOM states it. */
export function referenceProfileSha256(profile: ReferenceProfile): string {
  return createHash('sha256').update(canonicalJson(profile)).digest('hex');
}

/**
 * The holdout dataset component of the BOM, described by its reference profile; `more` adds what
 * the validation report says of the data (its slice columns and groups, `validation-analysis.ts`).
 */
export function holdoutDataset(profile: ReferenceProfile, more: readonly CdxProperty[] = []): CdxComponent {
  const digest = referenceProfileSha256(profile);
  const numeric = profile.features.filter((feature) => feature.kind === 'numeric').length;
  const description =
    `Holdout of ${profile.holdout.rows} rows the model was validated on (labels ${classText(profile.labels)}). ` +
    `Reference profile for drift monitoring: ${profile.features.length} feature(s) of input "${profile.input}", ` +
    `${numeric} numeric binned at quantiles and ${profile.features.length - numeric} categorical; ` +
    `manifest.json referenceProfile, sha256 ${digest}.`;
  const properties: CdxProperty[] = [
    { name: 'modelship:profile:sha256', value: digest },
    { name: 'modelship:profile:schemaVersion', value: String(profile.schemaVersion) },
    { name: 'modelship:profile:input', value: profile.input },
    { name: 'modelship:profile:rows', value: String(profile.holdout.rows) },
    { name: 'modelship:profile:labels', value: classText(profile.labels) },
    { name: 'modelship:profile:predictions', value: classText(profile.predictions) },
    ...profile.features.map((feature) => ({
      name: `modelship:profile:feature:${feature.name}`,
      value: featureText(feature),
    })),
    ...more,
  ];
  return {
    type: 'data',
    'bom-ref': HOLDOUT_BOM_REF,
    name: profile.holdout.path,
    hashes: [sha256Hash(profile.holdout.sha256)],
    data: [{ type: 'dataset', name: profile.holdout.path, description }],
    properties,
  };
}

/** `0: 50, 1: 48, 2: 52`. */
function classText(counts: ClassCounts): string {
  return counts.classes.map((label, i) => `${label}: ${counts.counts[i] ?? 0}`).join(', ') || '(none)';
}

/** `numeric, 10 bins, 4.3..7.9, mean 5.843, std 0.825` or `categorical, values 0, 1, 2`. */
function featureText(feature: FeatureProfile): string {
  const missing = feature.missing > 0 ? `, ${feature.missing} missing` : '';
  if (feature.kind === 'categorical') {
    return `categorical, values ${feature.categories.join(', ') || '(none)'}${missing}`;
  }
  const show = (value: number) => String(Number(value.toPrecision(4)));
  return (
    `numeric, ${feature.edges.length + 1} bins, ${show(feature.min)}..${show(feature.max)}, ` +
    `mean ${show(feature.mean)}, std ${show(feature.std)}${missing}`
  );
}
