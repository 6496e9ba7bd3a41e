/**
 * `verifyModelSignatures`: checks every `*.sig` file of a model directory offline against the
 * trusted keys, then checks the directory against what each signature lists.
 *
 * Stricter than `model_signing verify`, on purpose: every signature file present must verify
 * (a stray signature by an unknown key is a finding, not noise), every file in the directory
 * must be listed (the signature's own ignore_paths excuse only top-level `*.sig` files), and
 * each required key needs a valid signature of its own.
 */

import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { shortId } from '../../domain/short-id.ts';
import { MAX_BUNDLE_BYTES, type TrustedKey, verifyBundleWithTrustedKeys } from './bundle.ts';
import { keyIdOf, loadPublicKey, shortKeyId } from './keys.ts';
import {
  inspectModelDirectory,
  type ModelDirectoryContents,
  ModelDirectoryError,
  type ModelFileDigest,
  modelDirectoryOf,
  rootDigestOf,
} from './model-digest.ts';
import { parseModelSignatureStatement, type SignedModelManifest } from './model-statement.ts';

export interface VerifyModelSignaturesInput {
  /** The model directory (a file path means its directory, as for signing). */
  modelDir: string;
  /** Key name → public key PEM. */
  trustedKeys: Record<string, string>;
  /** Names of trusted keys that must each have a valid signature on the model. */
  requiredKeys: readonly string[];
}

export interface SignatureFinding {
  severity: 'error' | 'warning';
  message: string;
  /** The file or signature the finding is about, relative to the model directory. */
  location?: string;
}

/** One signature file's outcome. */
export interface SignatureCheck {
  /** Relative to the model directory, e.g. `model.sig`. */
  path: string;
  /** The trusted key that made it, or null when the key is unknown or the bundle unreadable. */
  keyName: string | null;
  /** The key id the signature names, when it names one. */
  keyId: string | null;
  /** Cryptographically valid by a trusted key AND matching the directory file for file. */
  valid: boolean;
  reason: string;
}

export interface ModelSignatureReport {
  passed: boolean;
  modelDir: string;
  signatures: SignatureCheck[];
  /** Names of the trusted keys with a valid signature, sorted. */
  verifiedKeys: string[];
  /** The directory's files as found now. */
  files: ModelFileDigest[];
  /** Root digest of `files` (empty when the directory could not be read). */
  rootDigest: string;
  findings: SignatureFinding[];
}

/** Verifies a model directory's signatures; never throws for what it finds, only reports it. */
export async function verifyModelSignatures(
  input: VerifyModelSignaturesInput,
): Promise<ModelSignatureReport> {
  const findings: SignatureFinding[] = [];
  const trusted = loadTrustedKeys(input.trustedKeys, findings);

  let modelDir = input.modelDir;
  let contents: ModelDirectoryContents;
  try {
    modelDir = await modelDirectoryOf(input.modelDir);
    contents = await inspectModelDirectory(modelDir);
  } catch (error) {
    if (!(error instanceof ModelDirectoryError)) throw error;
    findings.push({ severity: 'error', message: error.message });
    return finish({ modelDir, signatures: [], files: [], rootDigest: '', findings }, input);
  }

  for (const refused of contents.refused) {
    findings.push({
      severity: 'error',
      message: `${refused.path}: ${refused.reason}`,
      location: refused.path,
    });
  }
  if (contents.signatureFiles.length === 0) {
    findings.push({
      severity: 'error',
      message: `no signature file (*.sig) in ${modelDir}; sign the model with \`modelship sign\``,
    });
  }

  const signatures: SignatureCheck[] = [];
  for (const path of contents.signatureFiles) {
    signatures.push(await checkSignatureFile(modelDir, path, trusted, contents, findings));
  }
  return finish(
    {
      modelDir,
      signatures,
      files: contents.files,
      rootDigest: rootDigestOf(contents.files.map((f) => f.sha256)),
      findings,
    },
    input,
  );
}

function loadTrustedKeys(keys: Record<string, string>, findings: SignatureFinding[]): TrustedKey[] {
  const trusted: TrustedKey[] = [];
  for (const [name, pem] of Object.entries(keys)) {
    try {
      const key = loadPublicKey(pem, `trusted key "${name}"`);
      trusted.push({ name, keyId: keyIdOf(key), key });
    } catch (error) {
      findings.push({ severity: 'error', message: (error as Error).message });
    }
  }
  return trusted;
}

async function checkSignatureFile(
  modelDir: string,
  path: string,
  trusted: readonly TrustedKey[],
  contents: ModelDirectoryContents,
  findings: SignatureFinding[],
): Promise<SignatureCheck> {
  const invalid = (
    reason: string,
    keyId: string | null = null,
    keyName: string | null = null,
  ): SignatureCheck => {
    findings.push({ severity: 'error', message: `${path}: ${reason}`, location: path });
    return { path, keyName, keyId, valid: false, reason };
  };

  const absolute = join(modelDir, path);
  let text: string;
  try {
    if ((await stat(absolute)).size > MAX_BUNDLE_BYTES) {
      return invalid(`larger than ${MAX_BUNDLE_BYTES} bytes; not a signature bundle`);
    }
    text = await readFile(absolute, 'utf8');
  } catch (error) {
    return invalid(`cannot read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
  const verified = verifyBundleWithTrustedKeys(text, trusted);
  if (!verified.ok) return invalid(verified.reason, verified.keyId, verified.keyName);

  const signedBy = `"${verified.keyName}" (${shortKeyId(verified.keyId)})`;
  const manifest = parseModelSignatureStatement(verified.statement);
  if (!manifest.ok) {
    return invalid(
      `signed by ${signedBy}, but not a model signature: ${manifest.errors.join('; ')}`,
      verified.keyId,
      verified.keyName,
    );
  }

  const mismatches = compareWithDirectory(path, manifest.manifest, contents);
  findings.push(...mismatches);
  if (mismatches.length > 0) {
    const reason = `signed by ${signedBy}, but the directory does not match it (${mismatches.length} difference${mismatches.length === 1 ? '' : 's'})`;
    return { path, keyName: verified.keyName, keyId: verified.keyId, valid: false, reason };
  }
  return {
    path,
    keyName: verified.keyName,
    keyId: verified.keyId,
    valid: true,
    reason: `signed by ${signedBy}; all ${contents.files.length} files match`,
  };
}

/** Unlisted, missing and changed files, each named with both digests shortened. */
function compareWithDirectory(
  signaturePath: string,
  manifest: SignedModelManifest,
  contents: ModelDirectoryContents,
): SignatureFinding[] {
  const findings: SignatureFinding[] = [];
  const signed = new Map(manifest.files.map((f) => [f.path, f.sha256]));
  const refused = new Set(contents.refused.map((r) => r.path));
  for (const file of contents.files) {
    const expected = signed.get(file.path);
    if (expected === undefined) {
      findings.push({
        severity: 'error',
        message: `unlisted file ${file.path}: in the model directory but not covered by signature ${signaturePath}`,
        location: file.path,
      });
    } else if (expected !== file.sha256) {
      findings.push({
        severity: 'error',
        message: `${file.path} differs from signature ${signaturePath}: signed sha256 ${shortId(expected)}…, found ${shortId(file.sha256)}…`,
        location: file.path,
      });
    }
  }
  const present = new Set(contents.files.map((f) => f.path));
  for (const file of manifest.files) {
    // A listed path that is now a link or special file was already reported as refused.
    if (!present.has(file.path) && !refused.has(file.path)) {
      findings.push({
        severity: 'error',
        message: `missing file ${file.path}: listed in signature ${signaturePath} (sha256 ${shortId(file.sha256)}…) but not in the model directory`,
        location: file.path,
      });
    }
  }
  return findings;
}

function finish(
  report: Omit<ModelSignatureReport, 'passed' | 'verifiedKeys'>,
  input: VerifyModelSignaturesInput,
): ModelSignatureReport {
  const verifiedKeys = [
    ...new Set(report.signatures.filter((s) => s.valid).map((s) => s.keyName ?? '')),
  ].sort();
  for (const name of input.requiredKeys) {
    if (verifiedKeys.includes(name)) continue;
    if (!Object.hasOwn(input.trustedKeys, name)) {
      report.findings.push({
        severity: 'error',
        message: `required key "${name}" is not among the trusted keys, so no signature can satisfy it`,
      });
      continue;
    }
    const attempts = report.signatures.filter((s) => s.keyName === name).map((s) => s.path);
    const detail = attempts.length > 0 ? ` (${attempts.join(', ')} by this key did not verify)` : '';
    report.findings.push({
      severity: 'error',
      message: `required key "${name}" has no valid signature on this model${detail}`,
    });
  }
  const passed =
    report.signatures.some((s) => s.valid) && !report.findings.some((f) => f.severity === 'error');
  return { passed, verifiedKeys, ...report };
}
