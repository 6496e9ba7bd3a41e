/**
 * The evidence files of a bundle, written by the package step next to the manifest:
 *
 * - `bom.cdx.json`: the model described in CycloneDX 1.6 (component type
 *   `machine-learning-model`), checked against the CycloneDX schema before it is written;
 * - `bom.sigstore.json`: that BOM as an in-toto statement about the bundle's content files,
 *   signed (a Sigstore bundle, DSSE);
 * - `provenance.json` and `provenance.sigstore.json`: the SLSA v1 provenance statement (spec
 *   commit, model digest, holdout, declared training data and code), checked, then signed.
 *
 * Signed with the worker's evidence key (`evidence-key.ts`); anyone with its public key checks
 * them with `verifyStatementBundle` (`supply-chain/signing`) or any DSSE/Sigstore verifier.
 */
import { join } from 'node:path';
import {
  BOM_FILE,
  BOM_SIGNATURE_FILE,
  EVIDENCE_FILES,
  type EvidenceRecord,
  PROVENANCE_FILE,
  PROVENANCE_SIGNATURE_FILE,
} from '../domain/bundle-format.ts';
import { writeFileAtomic } from '../model/files.ts';
import type { ModelDeployment } from '../specs/schema.ts';
import { bomStatement } from '../supply-chain/evidence/bom-statement.ts';
import type { BundleFacts } from '../supply-chain/evidence/facts.ts';
import { buildModelBom, type ModelBomInput } from '../supply-chain/evidence/model-bom.ts';
import { buildProvenance } from '../supply-chain/evidence/provenance.ts';
import { validateProvenance } from '../supply-chain/evidence/provenance-schema.ts';
import { validateBom } from '../supply-chain/evidence/validate-bom.ts';
import { bundleToJsonText, signStatement } from '../supply-chain/signing/index.ts';
import type { EvidenceKey } from './evidence-key.ts';

interface EvidenceInput {
  facts: BundleFacts;
  spec: ModelDeployment;
  validation: ModelBomInput['validation'];
  scan: ModelBomInput['scan'];
  profile?: ModelBomInput['profile'];
  policy?: ModelBomInput['policy'];
  holdout?: { path: string; sha256: string };
  run: { workflowId: string; runId: string };
  /** The manifest's `createdAt`: both documents carry the bundle's time, not the clock's. */
  createdAt: string;
  startedOn: string;
}

const json = (value: unknown) => `${JSON.stringify(value, null, 2)}\n`;

/** Builds, checks, signs and writes the evidence into `dir`; throws if a document fails its schema. */
export async function writeEvidence(
  dir: string,
  input: EvidenceInput,
  key: EvidenceKey,
): Promise<EvidenceRecord> {
  const { facts, spec } = input;
  const bom = buildModelBom({
    ...facts,
    ...(spec.metadata.description ? { description: spec.metadata.description } : {}),
    owners: spec.metadata.owners,
    ...(spec.metadata.modelCard ? { card: spec.metadata.modelCard } : {}),
    interface: spec.spec.interface,
    validation: input.validation,
    scan: input.scan,
    ...(input.profile ? { profile: input.profile } : {}),
    ...(input.policy ? { policy: input.policy } : {}),
    timestamp: input.createdAt,
  });
  const bomErrors = await validateBom(bom);
  if (bomErrors.length > 0) {
    throw new Error(`the CycloneDX description does not validate (a modelship bug): ${bomErrors.join('; ')}`);
  }
  await writeFileAtomic(join(dir, BOM_FILE), json(bom));
  const bomSigned = await signStatement(bomStatement(bom, facts.bundle.files), key.privateKeyPem);
  await writeFileAtomic(join(dir, BOM_SIGNATURE_FILE), bundleToJsonText(bomSigned));
  const record = {
    signedBy: key.keyId,
    cyclonedx: '1.6' as const,
    slsa: 'https://slsa.dev/provenance/v1' as const,
  };
  // `modelship deploy` of an uncommitted spec names its commit `<sha>+dirty`: no commit holds
  // what is deployed, and provenance must not claim one does.
  if (!/^[0-9a-f]{40}([0-9a-f]{24})?$/.test(facts.spec.commit)) {
    return {
      files: [BOM_FILE, BOM_SIGNATURE_FILE],
      provenanceOmitted: `the spec was deployed at ${facts.spec.commit}, not at a commit: commit it for SLSA provenance`,
      ...record,
    };
  }
  const provenance = buildProvenance({
    ...facts,
    ...(input.holdout ? { holdout: input.holdout } : {}),
    run: input.run,
    startedOn: input.startedOn,
    finishedOn: input.createdAt,
  });
  const provenanceErrors = validateProvenance(provenance);
  if (provenanceErrors.length > 0) {
    throw new Error(
      `the SLSA provenance does not validate (a modelship bug): ${provenanceErrors.join('; ')}`,
    );
  }
  const provenanceSigned = await signStatement(provenance, key.privateKeyPem);
  await writeFileAtomic(join(dir, PROVENANCE_FILE), json(provenance));
  await writeFileAtomic(join(dir, PROVENANCE_SIGNATURE_FILE), bundleToJsonText(provenanceSigned));
  return { files: [...EVIDENCE_FILES], ...record };
}
