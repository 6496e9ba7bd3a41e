/** The one-line form of a finding, for terminals, CI logs and PR comments. */
import type { SecretFinding } from './finding.ts';
import { splitMasked } from './mask.ts';

/**
 * Paths and messages can carry text from the scanned files (a metadata key, a location); control
 * and format characters (bidi overrides, line separators) are escaped so a finding can neither
 * forge extra report lines nor drive a terminal nor read differently from what it says.
 */
function printable(text: string): string {
  return text.replace(
    /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/gu,
    (char) => `\\u{${(char.codePointAt(0) ?? 0).toString(16)}}`,
  );
}

/**
 * `spec.yaml:12:9  secret: GitHub Token(…) (ghp_****…, 40 chars) [@secretlint/secretlint-rule-github]`:
 * the label is the message without its leading "found " and its trailing masked secret.
 */
export function formatSecretFinding(finding: SecretFinding): string {
  const where = `${printable(finding.path)}:${finding.line}:${finding.column}`;
  const parts = splitMasked(finding.masked);
  const suffix = `: ${finding.masked}`;
  const described =
    parts && finding.message.endsWith(suffix)
      ? `${finding.message.slice(0, -suffix.length).replace(/^found /, '')} (${parts.shown}, ${parts.length})`
      : finding.message;
  return `${where}  secret: ${printable(described)} [${finding.ruleId}]`;
}
