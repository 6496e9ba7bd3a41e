import { describe, expect, it } from 'vitest';
import { FAKE_CREDENTIALS, fakePrivateKeyPem } from '../../scripts/hostile-corpus/secrets.ts';
import {
  FINDINGS_CAPPED_RULE,
  formatSecretFinding,
  MAX_FINDINGS_PER_TEXT,
  type SecretFinding,
  scanTextsForSecrets,
  secretScannerVersions,
} from '../../supply-chain/secrets/index.ts';

const { githubToken, awsAccessKeyId, awsSecretAccessKey, slackToken, basicAuthPassword, basicAuthUrl } =
  FAKE_CREDENTIALS;
const privateKey = fakePrivateKeyPem();
/** The base64 body of the PEM: the secret part (the armour lines are shown on purpose). */
const privateKeyBody = privateKey.split('\n').filter((line) => line !== '' && !line.startsWith('-----'));

/** Every 8-character piece of each secret: none may appear in anything we print or return. */
function assertNoLeak(output: string, secrets: readonly string[]): void {
  for (const secret of secrets) {
    for (let start = 0; start + 8 <= secret.length; start++) {
      const piece = secret.slice(start, start + 8);
      if (output.includes(piece)) throw new Error(`output leaks "${piece}" of a secret:\n${output}`);
    }
  }
}
const ALL_SECRETS = [
  githubToken,
  awsAccessKeyId,
  awsSecretAccessKey,
  slackToken,
  basicAuthPassword,
  ...privateKeyBody,
];

function where(findings: SecretFinding[]): string[] {
  return findings.map((finding) => `${finding.path}:${finding.line}:${finding.column} ${finding.ruleId}`);
}

const SPEC = [
  'apiVersion: modelship.dev/v1', // 1
  'kind: ModelDeployment',
  'metadata:',
  '  name: iris',
  `  description: pulled with ${githubToken} from CI`, // 5, column 28
  'spec:',
  '  model:',
  `    source: ${basicAuthUrl}/iris/model.onnx`, // 8, column 13
  '  env:',
  `    AWS_ACCESS_KEY_ID: ${awsAccessKeyId}`, // 10, column 24
  `    aws_secret_access_key: "${awsSecretAccessKey}"`, // 11, column 29
  `    notify: [slack, "${slackToken}"]`, // 12, column 22
  '  signingKey: |', // 13
  ...privateKey
    .trimEnd()
    .split('\n')
    .map((line) => `    ${line}`), // 14, column 5
  '',
].join('\n');

const MARKDOWN = [
  '# Deploying iris',
  '',
  'Export the credentials, then run the deploy:',
  '',
  '```sh',
  `export AWS_SECRET_ACCESS_KEY=${awsSecretAccessKey}`, // 6, column 30
  `export GITHUB_TOKEN=${githubToken}`, // 7, column 21
  '```',
  '',
  `Questions go to the bot (token \`${slackToken}\`).`, // 10, column 33
  '',
].join('\n');

describe('scanTextsForSecrets', () => {
  it('finds each credential in a YAML spec at its line and column', async () => {
    const findings = await scanTextsForSecrets([{ path: 'spec.yaml', text: SPEC }]);
    expect(where(findings)).toEqual([
      'spec.yaml:5:28 @secretlint/secretlint-rule-github',
      'spec.yaml:8:13 @secretlint/secretlint-rule-basicauth',
      'spec.yaml:10:24 @secretlint/secretlint-rule-aws',
      'spec.yaml:11:29 @secretlint/secretlint-rule-aws',
      'spec.yaml:12:22 @secretlint/secretlint-rule-slack',
      'spec.yaml:14:5 @secretlint/secretlint-rule-privatekey',
    ]);
  });

  it('finds credentials in a markdown file, the AWS secret key at the value, not at its name', async () => {
    const findings = await scanTextsForSecrets([{ path: 'docs/DEPLOY.md', text: MARKDOWN }]);
    expect(where(findings)).toEqual([
      'docs/DEPLOY.md:6:30 @secretlint/secretlint-rule-aws',
      'docs/DEPLOY.md:7:21 @secretlint/secretlint-rule-github',
      'docs/DEPLOY.md:10:33 @secretlint/secretlint-rule-slack',
    ]);
  });

  it('never returns or prints a secret in clear, only a short prefix and the length', async () => {
    const findings = await scanTextsForSecrets([
      { path: 'spec.yaml', text: SPEC },
      { path: 'docs/DEPLOY.md', text: MARKDOWN },
    ]);
    const printed = findings.map(formatSecretFinding).join('\n');
    assertNoLeak(JSON.stringify(findings), ALL_SECRETS);
    assertNoLeak(printed, ALL_SECRETS);

    const byRule = new Map(findings.map((finding) => [finding.ruleId, finding]));
    expect(findings[0]?.masked).toBe('ghp_****…(40 chars)');
    expect(findings[0]?.message).toBe(
      'found GitHub Token(GitHub personal access tokens): ghp_****…(40 chars)',
    );
    expect(byRule.get('@secretlint/secretlint-rule-basicauth')?.masked).toMatch(
      /^https:\/\/\*{4}…\(\d+ chars\)$/,
    );
    expect(byRule.get('@secretlint/secretlint-rule-privatekey')?.masked).toMatch(
      /^-----BEGIN PRIVATE KEY-----\*{4}…\(\d+ chars\)$/,
    );
  });

  it('prints one line per finding: file:line:column, what, masked secret, rule', async () => {
    const [finding] = await scanTextsForSecrets([{ path: 'spec.yaml', text: SPEC }]);
    expect(finding && formatSecretFinding(finding)).toBe(
      'spec.yaml:5:28  secret: GitHub Token(GitHub personal access tokens) (ghp_****…, 40 chars) [@secretlint/secretlint-rule-github]',
    );
  });

  it('escapes control characters a path could smuggle into the report', () => {
    const line = formatSecretFinding({
      path: 'model.onnx#metadata_props[a\nspec.yaml:1:1  all clear\u202e]',
      line: 1,
      column: 1,
      ruleId: 'r',
      message: 'found x: ab****…(9 chars)',
      masked: 'ab****…(9 chars)',
    });
    expect(line.split('\n')).toHaveLength(1);
    expect(line).toContain('a\\u{a}spec.yaml');
    expect(line).toContain('\\u{202e}');
  });

  it('cannot be silenced by a secretlint-disable comment in the scanned file', async () => {
    const text = `# secretlint-disable\ntoken: ${githubToken}\n# secretlint-enable\n`;
    const findings = await scanTextsForSecrets([{ path: 'values.yaml', text }]);
    expect(where(findings)).toEqual(['values.yaml:2:8 @secretlint/secretlint-rule-github']);
  });

  it('ignores the documented AWS example keys and plain placeholders', async () => {
    const text = [
      'aws_access_key_id: AKIAIOSFODNN7EXAMPLE',
      'aws_secret_access_key: wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
      'aws_account_id: 123456789012',
      // biome-ignore lint/suspicious/noTemplateCurlyInString: a literal placeholder is the input under test
      'url: https://user:${PASSWORD}@registry.example.com/models',
      'token: ghp_your_token_here',
    ].join('\n');
    expect(await scanTextsForSecrets([{ path: 'example.yaml', text }])).toEqual([]);
  });

  it('finds a secret that straddles the boundary of the windows a long text is scanned in', async () => {
    // One 100 kB line: no line break to cut at, so the 32 KiB window cores are cut mid-token.
    const filler = 'lorem ipsum dolor sit amet '.repeat(4000);
    const offsets = [32 * 1024 - 20, 64 * 1024 - 3, 90_000];
    let text = filler;
    for (const offset of [...offsets].reverse()) {
      text = `${text.slice(0, offset)} ${githubToken} ${text.slice(offset)}`;
    }
    const findings = await scanTextsForSecrets([{ path: 'long.txt', text }]);
    expect(findings.map((finding) => finding.column)).toEqual(
      offsets.map((offset, index) => offset + 1 + index * (githubToken.length + 2) + 1),
    );
    expect(findings.every((finding) => finding.line === 1)).toBe(true);
  });

  it('finds a private key that starts near the end of a window exactly once', async () => {
    const prose = 'A line of ordinary release notes that mentions nothing secret at all.\n';
    const before = prose.repeat(Math.floor((32 * 1024 - 200) / prose.length));
    const text = `${before}${privateKey}${prose.repeat(10)}`;
    const findings = await scanTextsForSecrets([{ path: 'notes.txt', text }]);
    const line = before.split('\n').length;
    expect(where(findings)).toEqual([`notes.txt:${line}:1 @secretlint/secretlint-rule-privatekey`]);
  });

  it('stops after MAX_FINDINGS_PER_TEXT findings and says where, within a bounded time', async () => {
    const line = `${awsAccessKeyId}\n`;
    const text = line.repeat(Math.ceil(1_000_000 / line.length));
    const started = performance.now();
    const findings = await scanTextsForSecrets([{ path: 'flood.txt', text }]);
    const seconds = (performance.now() - started) / 1000;
    console.log(`1 MB of ${text.length / line.length} access key ids scanned in ${seconds.toFixed(2)} s`);
    expect(findings).toHaveLength(MAX_FINDINGS_PER_TEXT + 1);
    expect(findings.at(-1)).toMatchObject({
      ruleId: FINDINGS_CAPPED_RULE,
      line: MAX_FINDINGS_PER_TEXT + 1,
      column: 1,
    });
    expect(seconds).toBeLessThan(10);
  });
});

describe('the secret scan in a process that lives on', () => {
  it("leaves nothing behind in Node's performance timeline, so the hundredth scan costs what the first did", async () => {
    // secretlint's profiler would add 54 marks and 27 measures per text, each measure searching
    // all marks before it; a worker scans every model it deploys (bench secret-scan).
    const secretlintEntries = () =>
      performance.getEntries().filter((entry) => entry.name.startsWith('@core>')).length;
    const before = secretlintEntries();
    const text = `${'model: iris\n'.repeat(20)}token: ${githubToken}\n`;
    for (let index = 0; index < 100; index++) {
      const findings = await scanTextsForSecrets([{ path: `spec-${index}.yaml`, text }]);
      expect(findings.map((finding) => finding.line)).toEqual([21]);
      // Let queued performance observers run, as they do between a worker's activities.
      await new Promise((resolveTurn) => setImmediate(resolveTurn));
    }
    expect(secretlintEntries() - before).toBe(0);
  });
});

describe('secretScannerVersions', () => {
  it('names the installed secretlint core and preset versions', () => {
    expect(secretScannerVersions()).toEqual({
      '@secretlint/core': '12.0.0',
      '@secretlint/secretlint-rule-preset-recommend': '12.0.0',
    });
  });
});
