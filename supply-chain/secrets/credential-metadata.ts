/**
 * A check of our own for model metadata: a value stored under a key named like a credential
 * (`api_key`, `password`, `hf_token`) that looks generated rather than written by a person.
 * secretlint only knows providers' token formats; a model exported from a notebook carries
 * whatever the notebook had, often a key of a format no rule knows.
 *
 * Both halves must hold, to keep false positives rare:
 * - the key, split into words (`modelship.apiKey` → modelship, api, key), has a credential word
 *   (password, passwd, passphrase, pwd, secret, token, credential(s), apikey, auth, bearer) or a
 *   credential pair (api key, access key, private key, signing key); `tokenizer`, `max_tokens` and
 *   `author` are other words and do not count;
 * - the value, after an optional `Bearer `/`Basic `/`token ` prefix, is 16 to 1024 printable
 *   characters without spaces; is not a placeholder (`${API_KEY}`, `<token>`, `your-api-key`,
 *   `changeme`, `REDACTED`, `xxxx`) nor a reference (`vault:…`, `env:…`, `arn:…`, any `scheme:`);
 *   and mixes at least three character classes (lower, upper, digit, symbol other than - _ .),
 *   or is at least 24 characters of two classes with a Shannon entropy of 3.5 bits per character
 *   or more (hex and base64 tokens). Names such as `prod-db-credentials-v2` stay below both bars.
 */

const CREDENTIAL_WORDS = new Set([
  'password',
  'passwd',
  'passphrase',
  'pwd',
  'secret',
  'token',
  'credential',
  'credentials',
  'apikey',
  'auth',
  'bearer',
]);
const CREDENTIAL_SECOND_WORD = 'key';
const CREDENTIAL_FIRST_WORDS = new Set(['api', 'access', 'private', 'signing']);

const AUTH_SCHEME_PREFIX = /^(?:bearer|basic|token)\s+/i;
const PRINTABLE_NO_SPACE = /^[\x21-\x7e]{16,1024}$/;
const PLACEHOLDER = /\$\{|\{\{|[<>]|example|placeholder|changeme|redacted|dummy|your[-_]?|x{4}|\*{3}/i;
const REFERENCE = /^[a-z][a-z0-9+.-]*:/i;
const MIN_TWO_CLASS_LENGTH = 24;
const MIN_TWO_CLASS_ENTROPY = 3.5;

/** `modelship.apiKey` → [modelship, api, key]. */
function keyWords(key: string): string[] {
  return key
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter((word) => word !== '');
}

/** True when a metadata key is named like a credential. */
export function isCredentialKeyName(key: string): boolean {
  const words = keyWords(key);
  return words.some(
    (word, index) =>
      CREDENTIAL_WORDS.has(word) ||
      (word === CREDENTIAL_SECOND_WORD && CREDENTIAL_FIRST_WORDS.has(words[index - 1] ?? '')),
  );
}

function shannonEntropy(text: string): number {
  const counts = new Map<string, number>();
  for (const char of text) counts.set(char, (counts.get(char) ?? 0) + 1);
  let bits = 0;
  for (const count of counts.values()) {
    const p = count / text.length;
    bits -= p * Math.log2(p);
  }
  return bits;
}

function characterClasses(text: string): number {
  return [/[a-z]/, /[A-Z]/, /[0-9]/, /[^A-Za-z0-9\-_.]/].filter((pattern) => pattern.test(text)).length;
}

/**
 * The credential-like part of a metadata value (its offset and text), or undefined when the
 * value reads as a name, a placeholder, a reference or prose.
 */
export function credentialLikeValue(value: string): { offset: number; candidate: string } | undefined {
  const leading = value.length - value.trimStart().length;
  const trimmed = value.trim();
  const scheme = AUTH_SCHEME_PREFIX.exec(trimmed)?.[0].length ?? 0;
  const candidate = trimmed.slice(scheme);
  if (!PRINTABLE_NO_SPACE.test(candidate) || PLACEHOLDER.test(candidate) || REFERENCE.test(candidate)) {
    return undefined;
  }
  const classes = characterClasses(candidate);
  const generated =
    classes >= 3 ||
    (classes === 2 &&
      candidate.length >= MIN_TWO_CLASS_LENGTH &&
      shannonEntropy(candidate) >= MIN_TWO_CLASS_ENTROPY);
  return generated ? { offset: leading + scheme, candidate } : undefined;
}
