/** What a secret scan reports, and where in a text a character offset lies. */

/** One secret found: where, by which rule, and the secret masked (never in clear, anywhere). */
export interface SecretFinding {
  /**
   * A path relative to the scanned directory (`spec.yaml`, `docs/README.md`), or a location
   * inside the model as the caller named it (`model.onnx#metadata_props[api_key]`).
   */
  path: string;
  /** Line of the secret's first character, from 1. */
  line: number;
  /** Column of the secret's first character, from 1, in UTF-16 code units as editors count. */
  column: number;
  /** The secretlint rule that matched (`@secretlint/secretlint-rule-github`) or a `modelship/…` rule. */
  ruleId: string;
  /** What was found, with every quoted secret replaced by its mask. */
  message: string;
  /** `ghp_****…(40 chars)`: enough to identify the secret, not to use it. */
  masked: string;
}

/** Rule id of the check that names credentials by their metadata key (see credential-metadata.ts). */
export const CREDENTIAL_METADATA_RULE = 'modelship/credential-in-metadata';
/** Rule id of the finding that says a text had so many secrets that the scan stopped early. */
export const FINDINGS_CAPPED_RULE = 'modelship/findings-capped';

/** Offsets where each line of `text` begins; built once per text, searched per finding. */
export function lineStarts(text: string): number[] {
  const starts = [0];
  for (let index = text.indexOf('\n'); index !== -1; index = text.indexOf('\n', index + 1)) {
    starts.push(index + 1);
  }
  return starts;
}

/** 1-based line and column of `offset`, given the text's `lineStarts`. */
export function positionAt(starts: readonly number[], offset: number): { line: number; column: number } {
  let low = 0;
  let high = starts.length - 1;
  while (low < high) {
    const middle = Math.ceil((low + high) / 2);
    if ((starts[middle] ?? 0) <= offset) low = middle;
    else high = middle - 1;
  }
  return { line: low + 1, column: offset - (starts[low] ?? 0) + 1 };
}
