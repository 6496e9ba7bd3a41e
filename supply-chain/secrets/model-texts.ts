/** Scanning the texts a model carries: doc_strings and metadata_props. */
import { credentialLikeValue, isCredentialKeyName } from './credential-metadata.ts';
import { CREDENTIAL_METADATA_RULE, lineStarts, positionAt, type SecretFinding } from './finding.ts';
import { maskAll, maskSecret } from './mask.ts';
import { locateSecrets, scanText } from './scan-text.ts';

/** One text found in a model, named by where it lives. */
export interface ModelText {
  /** Used as the findings' path: `model.onnx#metadata_props[api_key]`, `model.onnx#graph:main/doc_string`. */
  location: string;
  text: string;
  /** The metadata key when `text` is a metadata value; read from a `#metadata_props[<key>]` location when absent. */
  metadataKey?: string;
}

const METADATA_LOCATION = /#metadata_props\[(.*)\]$/s;

/**
 * Scans a model's texts with the secretlint preset, plus the credential-metadata check on
 * metadata values that no secretlint rule matched. A location holding a secret itself (a
 * metadata key that is a token) is reported too, and masked wherever it is used as a path;
 * the columns of that finding count in the location string.
 */
export async function scanModelTexts(texts: readonly ModelText[]): Promise<SecretFinding[]> {
  const findings: SecretFinding[] = [];
  for (const entry of texts) {
    const inLocation = await locateSecrets(entry.location, entry.location);
    const path = maskAll(
      entry.location,
      inLocation.located.map((located) => located.secret),
    );
    findings.push(...inLocation.located.map((located) => ({ ...located.finding, path })));

    const found = await scanText(path, entry.text);
    findings.push(...found);

    const key = entry.metadataKey ?? METADATA_LOCATION.exec(entry.location)?.[1];
    if (found.length > 0 || key === undefined || !isCredentialKeyName(key)) continue;
    const value = credentialLikeValue(entry.text);
    if (value === undefined) continue;
    const masked = maskSecret(value.candidate);
    findings.push({
      path,
      ...positionAt(lineStarts(entry.text), value.offset),
      ruleId: CREDENTIAL_METADATA_RULE,
      message: `found a credential-like value under a metadata key named like a credential: ${masked}`,
      masked,
    });
  }
  return findings;
}
