/**
 * Secret scanning of specs, model texts and bundle files with secretlint's recommended preset;
 * every finding carries its secret masked.
 */
export { credentialLikeValue, isCredentialKeyName } from './credential-metadata.ts';
export { CREDENTIAL_METADATA_RULE, FINDINGS_CAPPED_RULE, type SecretFinding } from './finding.ts';
export { formatSecretFinding } from './format.ts';
export { maskSecret } from './mask.ts';
export { type ModelText, scanModelTexts } from './model-texts.ts';
export { collectTextFiles, type DirectoryTexts, scanDirectoryForSecrets } from './scan-directory.ts';
export { MAX_FINDINGS_PER_TEXT, scanTextsForSecrets } from './scan-text.ts';
export { decodeTextFile, isTextFile } from './text-file.ts';
export { secretScannerVersions } from './versions.ts';
