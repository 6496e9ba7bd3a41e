/**
 * Hostile corpus, secrets part: a spec, a model and a bundle that each leak a credential and
 * must be stopped by the secret scan.
 *
 * The fake credentials are assembled from pieces at run time, so this file (and the tests that
 * import them) never hold a literal token that a secret scanner of this repository would flag.
 * They have the real formats and are not valid for any account.
 */
import { generateKeyPairSync } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { decodeModel, encodeModel } from '../../model/proto.ts';

const REPOSITORY_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** Format-valid, account-less credentials for tests and the corpus. */
export const FAKE_CREDENTIALS = {
  githubToken: ['ghp', 'R8kZq2vN5wXb7TfL3mYc9HdJ4sPa6GeU1oQi'].join('_'),
  awsAccessKeyId: ['AKIA', 'Q3XTRW7PLM4NZK2B'].join(''),
  awsSecretAccessKey: ['k9Jx2/Lm4Qp7Rv1St8Uw', '3Yz6Ab0Cd5Ef+Gh9Ij2K'].join(''),
  slackToken: ['xoxb', '1234567890', '2345678901', 'aB3cD4eF5gH6iJ7kL8mN9oP0'].join('-'),
  basicAuthPassword: ['Zx81', 'qLmN4vR2'].join(''),
  /** A URL with a user and password in it, the way a registry login ends up in a config. */
  get basicAuthUrl(): string {
    return `https://deploybot:${this.basicAuthPassword}@registry.example.com/models`;
  },
} as const;

/** A freshly generated EC P-256 private key in PKCS #8 PEM: a real key, used nowhere. */
export function fakePrivateKeyPem(): string {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
}

/** What a corpus runner reads: the scan step must fail the secrets check with this substring. */
interface SecretCase {
  description: string;
  step: 'scan';
  check: 'secrets';
  /** Appears in the one-line form of one of the findings (`formatSecretFinding`). */
  finding: string;
}

async function writeCase(outDir: string, name: string, spec: SecretCase): Promise<string> {
  const dir = join(outDir, name);
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'case.json'), `${JSON.stringify(spec, null, 2)}\n`);
  return dir;
}

const IRIS_SPEC = 'specs/examples/iris.yaml';
const IRIS_MODEL = 'models/iris/v1/model.onnx';
const IRIS_DESCRIPTION = /^(\s*description: )(.*)$/m;

async function specWithToken(outDir: string): Promise<void> {
  const dir = await writeCase(outDir, 'spec-with-token', {
    description: 'iris.yaml with a GitHub personal access token pasted into metadata.description',
    step: 'scan',
    check: 'secrets',
    finding: '@secretlint/secretlint-rule-github',
  });
  const spec = await readFile(join(REPOSITORY_ROOT, IRIS_SPEC), 'utf8');
  if (!IRIS_DESCRIPTION.test(spec))
    throw new Error(`${IRIS_SPEC}: no metadata.description line to plant the token in`);
  const leaked = spec.replace(
    IRIS_DESCRIPTION,
    `$1$2 Pull with ${FAKE_CREDENTIALS.githubToken} if the registry asks.`,
  );
  await writeFile(join(dir, 'spec.yaml'), leaked);
}

/**
 * The iris model with AWS credentials in its metadata_props. The extra entries are encoded on
 * their own and appended: protobuf merges a message's concatenated encodings, repeated fields
 * appending, so every original byte (weights included) stays and onnxruntime still loads it.
 * Re-encoding the decoded model would drop the fields our scan schema leaves out.
 */
async function modelKeyInMetadata(outDir: string): Promise<void> {
  const dir = await writeCase(outDir, 'model-key-in-metadata', {
    description: 'the iris model carrying an AWS access key id and secret key in metadata_props',
    step: 'scan',
    check: 'secrets',
    finding: '@secretlint/secretlint-rule-aws',
  });
  const original = await readFile(join(REPOSITORY_ROOT, IRIS_MODEL));
  const extra = encodeModel({
    metadataProps: [
      { key: 'aws_access_key_id', value: FAKE_CREDENTIALS.awsAccessKeyId },
      { key: 'aws_secret_access_key', value: FAKE_CREDENTIALS.awsSecretAccessKey },
    ],
  });
  const leaked = Buffer.concat([original, extra]);
  const keys = decodeModel(leaked).metadataProps.map((entry) => entry.key);
  if (!keys.includes('aws_access_key_id')) throw new Error('appended metadata_props did not decode');
  await mkdir(join(dir, 'model'), { recursive: true });
  await writeFile(join(dir, 'model', 'model.onnx'), leaked);
}

async function bundleTextFileWithSecret(outDir: string): Promise<void> {
  const dir = await writeCase(outDir, 'bundle-text-file-with-secret', {
    description: 'a model folder whose README.md holds a Slack bot token next to a clean model.onnx',
    step: 'scan',
    check: 'secrets',
    finding: '@secretlint/secretlint-rule-slack',
  });
  await mkdir(join(dir, 'model'), { recursive: true });
  await writeFile(join(dir, 'model', 'model.onnx'), await readFile(join(REPOSITORY_ROOT, IRIS_MODEL)));
  await writeFile(
    join(dir, 'model', 'README.md'),
    [
      '# iris v1',
      '',
      'Trained by models/train.py. Training progress is posted to #ml-iris:',
      '',
      '```',
      `SLACK_BOT_TOKEN=${FAKE_CREDENTIALS.slackToken}`,
      '```',
      '',
    ].join('\n'),
  );
}

/** Writes every secrets case under `outDir/<case>/`. */
export async function buildSecretCases(outDir: string): Promise<void> {
  await specWithToken(outDir);
  await modelKeyInMetadata(outDir);
  await bundleTextFileWithSecret(outDir);
}
