import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InferenceSession } from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { decodeModel } from '../../model/proto.ts';
import { buildSecretCases, FAKE_CREDENTIALS } from '../../scripts/hostile-corpus/secrets.ts';
import { parseSpec } from '../../specs/parse.ts';
import {
  formatSecretFinding,
  type SecretFinding,
  scanDirectoryForSecrets,
  scanModelTexts,
  scanTextsForSecrets,
} from '../../supply-chain/secrets/index.ts';

const CaseFile = z.strictObject({
  description: z.string().min(1),
  step: z.literal('scan'),
  check: z.literal('secrets'),
  finding: z.string().min(1),
});

/** What the scan step does with a case folder: the spec, the model's metadata, the model folder. */
async function scanCase(caseDir: string): Promise<SecretFinding[]> {
  const entries = await readdir(caseDir);
  const findings: SecretFinding[] = [];
  if (entries.includes('spec.yaml')) {
    const text = await readFile(join(caseDir, 'spec.yaml'), 'utf8');
    findings.push(...(await scanTextsForSecrets([{ path: 'spec.yaml', text }])));
  }
  if (entries.includes('model')) {
    const model = decodeModel(await readFile(join(caseDir, 'model', 'model.onnx')));
    findings.push(
      ...(await scanModelTexts(
        model.metadataProps.map(({ key, value }) => ({
          location: `model.onnx#metadata_props[${key}]`,
          text: value,
        })),
      )),
      ...(await scanDirectoryForSecrets(join(caseDir, 'model'))),
    );
  }
  return findings;
}

describe('hostile corpus: secrets', () => {
  let outDir: string;
  beforeAll(async () => {
    outDir = await mkdtemp(join(tmpdir(), 'modelship-hostile-secrets-'));
    await buildSecretCases(outDir);
  });
  afterAll(async () => {
    await rm(outDir, { recursive: true, force: true });
  });

  it('builds the three cases, each with a valid case.json', async () => {
    expect((await readdir(outDir)).sort()).toEqual([
      'bundle-text-file-with-secret',
      'model-key-in-metadata',
      'spec-with-token',
    ]);
    for (const name of await readdir(outDir)) {
      CaseFile.parse(JSON.parse(await readFile(join(outDir, name, 'case.json'), 'utf8')));
    }
  });

  it.each(['spec-with-token', 'model-key-in-metadata', 'bundle-text-file-with-secret'])(
    '%s: the scan reports the planted secret, masked',
    async (name) => {
      const spec = CaseFile.parse(JSON.parse(await readFile(join(outDir, name, 'case.json'), 'utf8')));
      const printed = (await scanCase(join(outDir, name))).map(formatSecretFinding);
      expect(printed.some((line) => line.includes(spec.finding))).toBe(true);
      for (const secret of Object.values(FAKE_CREDENTIALS)) {
        expect(printed.join('\n')).not.toContain(secret.slice(4, 16));
      }
    },
  );

  it('spec-with-token: the token is the only thing wrong (the spec still parses) and is found where planted', async () => {
    const text = await readFile(join(outDir, 'spec-with-token', 'spec.yaml'), 'utf8');
    expect(parseSpec(text).ok).toBe(true);
    const findings = await scanTextsForSecrets([{ path: 'spec.yaml', text }]);
    expect(findings.map(formatSecretFinding)).toEqual([
      expect.stringMatching(
        /^spec\.yaml:17:\d+ {2}secret: GitHub Token\(GitHub personal access tokens\) \(ghp_\*{4}…, 40 chars\)/,
      ),
    ]);
  });

  it('model-key-in-metadata: the model still loads, keeps its metadata, and both AWS values are reported', async () => {
    const path = join(outDir, 'model-key-in-metadata', 'model', 'model.onnx');
    const session = await InferenceSession.create(path);
    expect(session.inputNames).toEqual(['input']);
    await session.release();

    const { metadataProps } = decodeModel(await readFile(path));
    expect(metadataProps.map((entry) => entry.key)).toEqual([
      'modelship.version',
      'modelship.dataset',
      'modelship.purpose',
      'modelship.generated_by',
      'aws_access_key_id',
      'aws_secret_access_key',
    ]);
    const findings = await scanCase(join(outDir, 'model-key-in-metadata'));
    expect(findings.map((finding) => [finding.path, finding.ruleId, finding.masked])).toEqual([
      [
        'model.onnx#metadata_props[aws_access_key_id]',
        '@secretlint/secretlint-rule-aws',
        'AKIA****…(20 chars)',
      ],
      [
        'model.onnx#metadata_props[aws_secret_access_key]',
        'modelship/credential-in-metadata',
        'k9Jx****…(40 chars)',
      ],
    ]);
  });

  it('bundle-text-file-with-secret: README.md is scanned, model.onnx skipped as binary', async () => {
    const findings = await scanDirectoryForSecrets(join(outDir, 'bundle-text-file-with-secret', 'model'));
    expect(findings.map(formatSecretFinding)).toEqual([
      'README.md:6:17  secret: slack token (xoxb****…, 51 chars) [@secretlint/secretlint-rule-slack]',
    ]);
  });
});
