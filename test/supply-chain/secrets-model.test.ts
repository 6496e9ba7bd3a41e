import { describe, expect, it } from 'vitest';
import { FAKE_CREDENTIALS } from '../../scripts/hostile-corpus/secrets.ts';
import {
  CREDENTIAL_METADATA_RULE,
  credentialLikeValue,
  formatSecretFinding,
  isCredentialKeyName,
  scanModelTexts,
} from '../../supply-chain/secrets/index.ts';

const { githubToken, awsAccessKeyId, awsSecretAccessKey, slackToken } = FAKE_CREDENTIALS;
/** A generated key of no provider's format: only the metadata-key check can catch it. */
const unknownApiKey = ['q7Hf2', 'Kd9LmX4pR8s', 'Tn3VbW6yZc1'].join('');

const metadata = (key: string, value: string) => ({
  location: `model.onnx#metadata_props[${key}]`,
  text: value,
});

describe('scanModelTexts', () => {
  it('reports secrets in metadata values and doc_strings under the location the caller named', async () => {
    const findings = await scanModelTexts([
      metadata('modelship.version', 'v1'),
      metadata('aws_access_key_id', awsAccessKeyId),
      metadata('notes', `trained on 2024-03-01\nslack alerts: ${slackToken}`),
      {
        location: 'model.onnx#graph:main/doc_string',
        text: `Exported from the notebook.\n  HF_PUSH=${githubToken}`,
      },
    ]);
    expect(findings.map((finding) => [finding.path, finding.line, finding.column, finding.ruleId])).toEqual([
      ['model.onnx#metadata_props[aws_access_key_id]', 1, 1, '@secretlint/secretlint-rule-aws'],
      ['model.onnx#metadata_props[notes]', 2, 15, '@secretlint/secretlint-rule-slack'],
      ['model.onnx#graph:main/doc_string', 2, 11, '@secretlint/secretlint-rule-github'],
    ]);
    const printed = findings.map(formatSecretFinding).join('\n');
    for (const secret of [awsAccessKeyId, slackToken, githubToken]) {
      expect(printed).not.toContain(secret.slice(4, 16));
      expect(JSON.stringify(findings)).not.toContain(secret.slice(4, 16));
    }
  });

  it('flags a generated value under a key named like a credential when no rule knows its format', async () => {
    const findings = await scanModelTexts([
      metadata('aws_secret_access_key', awsSecretAccessKey),
      metadata('openrouterApiKey', `  ${unknownApiKey}`),
      { location: 'model.onnx#metadata_props[password]', text: 'Bearer Xr4!kP9#vL2@qZ7m' },
    ]);
    expect(findings.map((finding) => [finding.path, finding.column, finding.ruleId, finding.masked])).toEqual(
      [
        [
          'model.onnx#metadata_props[aws_secret_access_key]',
          1,
          CREDENTIAL_METADATA_RULE,
          'k9Jx****…(40 chars)',
        ],
        ['model.onnx#metadata_props[openrouterApiKey]', 3, CREDENTIAL_METADATA_RULE, 'q7Hf****…(27 chars)'],
        ['model.onnx#metadata_props[password]', 8, CREDENTIAL_METADATA_RULE, 'Xr4!****…(16 chars)'],
      ],
    );
    expect(findings[0] && formatSecretFinding(findings[0])).toBe(
      'model.onnx#metadata_props[aws_secret_access_key]:1:1  secret: a credential-like value under a metadata key named like a credential (k9Jx****…, 40 chars) [modelship/credential-in-metadata]',
    );
    expect(JSON.stringify(findings)).not.toContain(awsSecretAccessKey.slice(4));
    expect(JSON.stringify(findings)).not.toContain(unknownApiKey.slice(4));
  });

  it('reads the metadata key from metadataKey when the location does not follow the convention', async () => {
    const findings = await scanModelTexts([
      { location: 'model.onnx (metadata 3)', text: unknownApiKey, metadataKey: 'api_key' },
    ]);
    expect(findings.map((finding) => finding.ruleId)).toEqual([CREDENTIAL_METADATA_RULE]);
  });

  it('masks a secret used as a metadata key wherever the location appears', async () => {
    const findings = await scanModelTexts([metadata(githubToken, 'true')]);
    expect(findings).toHaveLength(1);
    expect(findings[0]?.path).toBe('model.onnx#metadata_props[ghp_****…(40 chars)]');
    expect(findings[0]?.ruleId).toBe('@secretlint/secretlint-rule-github');
    expect(JSON.stringify(findings)).not.toContain(githubToken.slice(4));
  });

  it('leaves names, numbers, placeholders and references under credential-like keys alone', async () => {
    const harmless = [
      metadata('tokenizer', 'bert-base-uncased-vocab-30522'),
      metadata('max_tokens', '2048'),
      metadata('author', 'Jane Doe <jane@example.org>'),
      // biome-ignore lint/suspicious/noTemplateCurlyInString: a literal placeholder is the input under test
      metadata('api_key', '${OPENAI_API_KEY}'),
      metadata('api_key', '<your api key>'),
      metadata('api_key', 'your-api-key-goes-here'),
      metadata('password', 'changeme-before-production'),
      metadata('token', 'prod-db-credentials-v2'),
      metadata('secret_ref', 'vault:kv/prod/ml/inference#api_key'),
      metadata('hf_token', 'REDACTED_BY_EXPORT_SCRIPT_2024'),
      metadata('auth_mode', 'client-credentials'),
      metadata('access_key', 'a short one'),
      metadata('modelship.purpose', 'good baseline'),
      metadata('training_data_sha256', '369c629d47d86ed38b0ffe8a79d3d2cd12c1e6ae41ef06779c8af7fddb52a99e'),
    ];
    expect(await scanModelTexts(harmless)).toEqual([]);
  });
});

describe('the credential-metadata check', () => {
  it('splits key names into words, so tokenizer and max_tokens are not credentials', () => {
    const named = [
      'api_key',
      'apiKey',
      'API-KEY',
      'modelship.password',
      'hf_token',
      'ClientSecret',
      'signing.key',
    ];
    const notNamed = ['tokenizer', 'max_tokens', 'author', 'keywords', 'key', 'monkey', 'secretary'];
    expect(named.filter(isCredentialKeyName)).toEqual(named);
    expect(notNamed.filter(isCredentialKeyName)).toEqual([]);
  });

  it('takes generated strings and leaves words, placeholders and short values', () => {
    expect(credentialLikeValue(awsSecretAccessKey)).toEqual({ offset: 0, candidate: awsSecretAccessKey });
    expect(credentialLikeValue('f3a9c1e07b2d4e8f9a6c5b3d1e0f7a2c')).toBeDefined();
    expect(credentialLikeValue('production-credentials')).toBeUndefined();
    expect(credentialLikeValue('ThisIsNotARealPassword')).toBeUndefined();
    expect(credentialLikeValue('Ab1!')).toBeUndefined();
    expect(credentialLikeValue('xxxxxxxxxxxxxxxxxxxxxxxx')).toBeUndefined();
  });
});
