/**
 * `signModel`: signs a model directory into an OpenSSF Model Signing bundle (`<dir>/model.sig`
 * by default). The signed unit is the directory that holds the model file and its external
 * data, so a path to a file signs the file's directory.
 */
import { writeFile } from 'node:fs/promises';
import { basename, isAbsolute, join, relative, resolve } from 'node:path';
import { bundleToJsonText, signStatement } from './bundle.ts';
import { keyIdOf, loadPrivateKey } from './keys.ts';
import {
  inspectModelDirectory,
  isSignatureFileName,
  ModelDirectoryError,
  type ModelFileDigest,
  modelDirectoryOf,
  rootDigestOf,
} from './model-digest.ts';
import { buildModelSignatureStatement } from './model-statement.ts';

export const DEFAULT_SIGNATURE_NAME = 'model.sig';

export interface SignModelInput {
  /** The model directory, or a file in it (then its directory is signed). */
  modelPath: string;
  privateKeyPem: string;
  /** Where to write the bundle; default `<dir>/model.sig`. Inside the directory it must be a top-level `*.sig`. */
  output?: string;
  /** Replace an existing signature file (default: refuse, so a co-signer's file is never clobbered). */
  overwrite?: boolean;
}

export interface SignModelResult {
  modelDir: string;
  signaturePath: string;
  rootDigest: string;
  files: ModelFileDigest[];
  keyId: string;
}

/** Signs every file of the model directory; throws `ModelDirectoryError` or `SigningKeyError` when it cannot. */
export async function signModel(input: SignModelInput): Promise<SignModelResult> {
  const privateKey = loadPrivateKey(input.privateKeyPem);
  const modelDir = await modelDirectoryOf(input.modelPath);
  const signaturePath = resolve(input.output ?? join(modelDir, DEFAULT_SIGNATURE_NAME));
  const insideName = signatureNameInside(modelDir, signaturePath);

  const contents = await inspectModelDirectory(modelDir);
  if (contents.refused.length > 0) {
    const list = contents.refused.map((r) => `  ${r.path}: ${r.reason}`).join('\n');
    throw new ModelDirectoryError(
      `${modelDir}: cannot sign this model directory:\n${list}`,
      contents.refused,
    );
  }
  if (contents.files.length === 0)
    throw new ModelDirectoryError(`${modelDir}: no files to sign in this directory`);

  // Signature files are left out of the digests; listing them as ignore_paths lets
  // model_signing verify the result too (it hashes everything it is not told to ignore).
  const ignorePaths = [...new Set([...contents.signatureFiles, ...(insideName ? [insideName] : [])])].sort();
  const statement = buildModelSignatureStatement({
    modelName: basename(modelDir),
    files: contents.files,
    ignorePaths,
  });
  const bundle = await signStatement(statement, input.privateKeyPem);
  try {
    await writeFile(signaturePath, bundleToJsonText(bundle), { flag: input.overwrite ? 'w' : 'wx' });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') {
      throw new ModelDirectoryError(
        `${signaturePath} already exists; replace it explicitly, or write a co-signature to another <name>.sig`,
      );
    }
    throw error;
  }
  return {
    modelDir,
    signaturePath,
    rootDigest: rootDigestOf(contents.files.map((f) => f.sha256)),
    files: contents.files,
    keyId: keyIdOf(privateKey),
  };
}

/** The signature's name when it goes inside the model directory (then it must be a top-level `*.sig`). */
function signatureNameInside(modelDir: string, signaturePath: string): string | null {
  const inside = relative(modelDir, signaturePath);
  if (inside === '' || inside === '..' || inside.startsWith('../') || isAbsolute(inside)) return null;
  if (!isSignatureFileName(inside)) {
    throw new ModelDirectoryError(
      `${signaturePath}: a signature inside the model directory must be a top-level <name>.sig file, ` +
        'or it would be signed as part of the model',
    );
  }
  return inside;
}
