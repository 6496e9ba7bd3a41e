/**
 * `modelship keygen` and `modelship sign` as a user runs them: the real bin in a child process,
 * real key files and the iris ONNX model; the signature is then checked with the verifier.
 */
import { execFile } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { verifyModelSignatures } from '../../supply-chain/signing/verify-model.ts';
import { REPO_ROOT, repoPath } from '../support/paths.ts';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

async function modelship(...args: string[]): Promise<Run> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, ['bin/modelship.mjs', ...args], {
      cwd: REPO_ROOT,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout: string; stderr: string };
    return { code: failed.code ?? -1, stdout: failed.stdout, stderr: failed.stderr };
  }
}

const scratch = await mkdtemp(join(tmpdir(), 'modelship-sign-cli-'));
afterAll(() => rm(scratch, { recursive: true, force: true }));

async function modelDir(name: string): Promise<string> {
  const dir = join(scratch, name, 'model');
  await mkdir(dir, { recursive: true });
  await copyFile(repoPath('models/iris/v1/model.onnx'), join(dir, 'model.onnx'));
  await writeFile(join(dir, 'weights.bin'), 'external tensor data');
  return dir;
}

describe('modelship keygen', () => {
  it('writes a private key readable by its owner only and a public key, and prints the key id', async () => {
    const out = join(scratch, 'keys');
    const run = await modelship('keygen', '--out', out, '--name', 'release');
    expect(run.code).toBe(0);
    const keyId = /^key id {7}([0-9a-f]{64})$/m.exec(run.stdout)?.[1];
    expect(keyId).toBeDefined();
    expect(run.stdout).toContain(`private key  ${join(out, 'release.key')}  (keep secret; do not commit)`);
    expect((await stat(join(out, 'release.key'))).mode & 0o777).toBe(0o600);
    expect(await readFile(join(out, 'release.key'), 'utf8')).toMatch(/^-----BEGIN PRIVATE KEY-----/);
    expect(await readFile(join(out, 'release.pub'), 'utf8')).toMatch(/^-----BEGIN PUBLIC KEY-----/);
  });

  it('refuses to overwrite an existing key and leaves it unchanged', async () => {
    const out = join(scratch, 'keys-twice');
    expect((await modelship('keygen', '--out', out, '--name', 'ops')).code).toBe(0);
    const before = await readFile(join(out, 'ops.key'), 'utf8');
    const again = await modelship('keygen', '--out', out, '--name', 'ops');
    expect(again.code).toBe(1);
    expect(again.stderr).toBe(
      `modelship: ${join(out, 'ops.key')} already exists; choose another --name or --out\n`,
    );
    expect(await readFile(join(out, 'ops.key'), 'utf8')).toBe(before);
  });

  it('exits 2 with the usage when --name is missing or unsafe', async () => {
    const missing = await modelship('keygen', '--out', scratch);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('--out and --name are required');
    const unsafe = await modelship('keygen', '--out', scratch, '--name', '../evil');
    expect(unsafe.code).toBe(2);
    expect(unsafe.stderr).toContain('--name "../evil": use letters, digits');
  });
});

describe('modelship sign', () => {
  it('signs the model directory, prints what it signed, and the signature verifies', async () => {
    const out = join(scratch, 'sign-keys');
    await modelship('keygen', '--out', out, '--name', 'release');
    const dir = await modelDir('signed');
    const run = await modelship('sign', dir, '--key', join(out, 'release.key'));
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(`signed      ${dir} (2 files, `);
    expect(run.stdout).toMatch(/^ {2}[0-9a-f]{12}… {2}model\.onnx$/m);
    expect(run.stdout).toMatch(/^ {2}[0-9a-f]{12}… {2}weights\.bin$/m);
    expect(run.stdout).toContain(`signature   ${join(dir, 'model.sig')}`);
    const rootDigest = /^root digest sha256:([0-9a-f]{64})$/m.exec(run.stdout)?.[1];

    const report = await verifyModelSignatures({
      modelDir: dir,
      trustedKeys: { release: await readFile(join(out, 'release.pub'), 'utf8') },
      requiredKeys: ['release'],
    });
    expect(report.findings).toEqual([]);
    expect(report.passed).toBe(true);
    expect(report.rootDigest).toBe(rootDigest);
  });

  it('given model.onnx, signs its directory; --output writes a co-signature', async () => {
    const dir = await modelDir('by-file');
    const run = await modelship(
      'sign',
      join(dir, 'model.onnx'),
      '--key',
      repoPath('test/fixtures/keys/hostile-test.key'),
      '--output',
      join(dir, 'qa.sig'),
    );
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(`signed      ${dir} (2 files, `);
    expect(run.stdout).toContain(`signature   ${join(dir, 'qa.sig')}`);
  });

  it('exits 1 naming the problem: an existing signature, a public key as --key, a symbolic link', async () => {
    const dir = await modelDir('refusals');
    const key = repoPath('test/fixtures/keys/hostile-test.key');
    expect((await modelship('sign', dir, '--key', key)).code).toBe(0);

    const again = await modelship('sign', dir, '--key', key);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain(`${join(dir, 'model.sig')} already exists`);
    expect((await modelship('sign', dir, '--key', key, '--force')).code).toBe(0);

    const wrongKey = await modelship('sign', dir, '--key', repoPath('test/fixtures/keys/hostile-test.pub'));
    expect(wrongKey.code).toBe(1);
    expect(wrongKey.stderr).toMatch(/^modelship: --key .*hostile-test\.pub: private key: not a readable/);

    const linked = await modelDir('symlink');
    await symlink('/etc/passwd', join(linked, 'config.json'));
    const refused = await modelship('sign', linked, '--key', key);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toBe(
      `modelship: ${linked}: cannot sign this model directory:\n  config.json: symbolic link (not allowed in a signed model)\n`,
    );
  });

  it('exits 2 with the usage without --key, and says in --help that a directory is signed', async () => {
    const run = await modelship('sign', scratch);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('--key is required');
    const help = await modelship('sign', '--help');
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Signs a MODEL DIRECTORY');
    expect(help.stdout).toContain('Given a file, signs the directory that holds it.');
  });
});
