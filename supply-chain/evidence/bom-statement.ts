/**
 * `bomStatement`: the model BOM wrapped as an in-toto Statement v1 (predicate type
 * `https://cyclonedx.org/bom`, the type in-toto lists for CycloneDX), so it is signed like every
 * other modelship attestation (`signStatement` takes statements only) and a verifier can tell
 * which bundle files it is about.
 */
import type { BundleFile } from '../../domain/bundle-format.ts';
import type { CdxBom } from './cyclonedx.ts';
import { bundleSubjects, IN_TOTO_STATEMENT_TYPE } from './facts.ts';

export const CYCLONEDX_PREDICATE_TYPE = 'https://cyclonedx.org/bom';

/** An in-toto Statement v1 whose predicate is a CycloneDX BOM. */
export interface BomStatement {
  _type: typeof IN_TOTO_STATEMENT_TYPE;
  subject: { name: string; digest: { sha256: string } }[];
  predicateType: typeof CYCLONEDX_PREDICATE_TYPE;
  predicate: CdxBom;
}

/** Wraps a BOM (already checked by `validateBom`) for signing, about the bundle's content files. */
export function bomStatement(bom: CdxBom, files: readonly BundleFile[]): BomStatement {
  if (files.length === 0) throw new Error('a BOM statement needs at least one bundle file as its subject');
  return {
    _type: IN_TOTO_STATEMENT_TYPE,
    subject: bundleSubjects(files),
    predicateType: CYCLONEDX_PREDICATE_TYPE,
    predicate: bom,
  };
}
