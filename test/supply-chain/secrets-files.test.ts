import { mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeModel } from '../../model/proto.ts';
import { FAKE_CREDENTIALS } from '../../scripts/hostile-corpus/secrets.ts';
import {
  collectTextFiles,
  formatSecretFinding,
  isTextFile,
  scanDirectoryForSecrets,
  scanModelTexts,
  scanTextsForSecrets,
} from '../../supply-chain/secrets/index.ts';

const REPOSITORY_ROOT = join(import.meta.dirname, '../..');
const { githubToken, slackToken } = FAKE_CREDENTIALS;

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(join(REPOSITORY_ROOT, dir), { recursive: true, withFileTypes: true });
  return entries
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name))
    .sort();
}

describe('no false positives on our own content', () => {
  it('finds nothing in specs/examples, test/fixtures/specs/valid and the text files of models/', async () => {
    const specs = [
      ...(await filesUnder('specs/examples')),
      ...(await filesUnder('test/fixtures/specs/valid')),
    ];
    const models = await collectTextFiles(join(REPOSITORY_ROOT, 'models'));
    const texts = [
      ...(await Promise.all(specs.map(async (path) => ({ path, text: await readFile(path, 'utf8') })))),
      ...models.texts,
    ];
    expect(texts.length).toBeGreaterThan(10);
    expect(models.texts.map((file) => file.path)).toEqual(
      expect.arrayContaining(['README.md', 'train.py', 'catalog.json', 'SHA256SUMS', 'iris/holdout.csv']),
    );
    expect((await scanTextsForSecrets(texts)).map(formatSecretFinding)).toEqual([]);
  });

  it('finds nothing in the metadata of every model in models/', async () => {
    const onnxFiles = (await filesUnder('models')).filter((path) => path.endsWith('.onnx'));
    expect(onnxFiles.length).toBeGreaterThanOrEqual(12);
    const texts = [];
    for (const path of onnxFiles) {
      for (const { key, value } of decodeModel(await readFile(path)).metadataProps) {
        texts.push({ location: `${path}#metadata_props[${key}]`, text: value });
      }
    }
    expect(texts.length).toBeGreaterThanOrEqual(onnxFiles.length);
    expect(await scanModelTexts(texts)).toEqual([]);
  });
});

describe('isTextFile', () => {
  it('tells text from binaries: ONNX models, NUL bytes, invalid UTF-8', async () => {
    const model = await readFile(join(REPOSITORY_ROOT, 'models/iris/v1/model.onnx'));
    const encoder = new TextEncoder();
    expect(isTextFile(model)).toBe(false);
    expect(isTextFile(encoder.encode('kind: ModelDeployment\nname: iris — ünïcode ✓\n'))).toBe(true);
    expect(isTextFile(new Uint8Array())).toBe(true);
    expect(isTextFile(Uint8Array.of(0x6e, 0x61, 0x6d, 0x65, 0x00, 0x0a))).toBe(false);
    expect(isTextFile(Uint8Array.of(0x63, 0x61, 0x66, 0xe9, 0x0a))).toBe(false);
  });
});

describe('scanDirectoryForSecrets', () => {
  let dir: string;
  let outside: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'modelship-secrets-'));
    outside = await mkdtemp(join(tmpdir(), 'modelship-secrets-outside-'));
    await mkdir(join(dir, 'docs/deep'), { recursive: true });
    await writeFile(
      join(dir, 'model.onnx'),
      await readFile(join(REPOSITORY_ROOT, 'models/iris/v1/model.onnx')),
    );
    await writeFile(join(dir, 'spec.yaml'), `metadata:\n  description: ${githubToken}\n`);
    await writeFile(join(dir, 'docs/deep/NOTES.md'), `# Notes\n\nbot: ${slackToken}\n`);
    // A binary that happens to contain a token: skipped, as the model file is.
    await writeFile(
      join(dir, 'weights.bin'),
      Buffer.concat([Buffer.from([0, 1, 2]), Buffer.from(githubToken)]),
    );
    await writeFile(join(outside, 'leak.txt'), `token: ${githubToken}\n`);
    await symlink(join(outside, 'leak.txt'), join(dir, 'linked.txt'));
    await symlink(outside, join(dir, 'linked-dir'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
    await rm(outside, { recursive: true, force: true });
  });

  it('scans every text file, paths relative to the directory, binaries and links skipped', async () => {
    const findings = await scanDirectoryForSecrets(dir);
    expect(findings.map(formatSecretFinding)).toEqual([
      'docs/deep/NOTES.md:3:6  secret: slack token (xoxb****…, 51 chars) [@secretlint/secretlint-rule-slack]',
      'spec.yaml:2:16  secret: GitHub Token(GitHub personal access tokens) (ghp_****…, 40 chars) [@secretlint/secretlint-rule-github]',
    ]);
    const { skipped } = await collectTextFiles(dir);
    expect(skipped).toEqual(['linked-dir', 'linked.txt', 'model.onnx', 'weights.bin']);
  });
});

describe('scan time', () => {
  it('scans a 1 MB text file in under 2 s (about 0.1 s here)', async () => {
    const source = await readFile(join(REPOSITORY_ROOT, 'models/train.py'), 'utf8');
    const text = source.repeat(Math.ceil(1_000_000 / source.length)).slice(0, 1_000_000);
    await scanTextsForSecrets([{ path: 'warm-up.py', text: source }]);
    const started = performance.now();
    const findings = await scanTextsForSecrets([{ path: 'big.py', text }]);
    const milliseconds = performance.now() - started;
    console.log(`1 MB text file scanned in ${milliseconds.toFixed(0)} ms`);
    expect(findings).toEqual([]);
    expect(milliseconds).toBeLessThan(2000);
  });
});
