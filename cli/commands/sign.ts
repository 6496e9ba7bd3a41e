/** `modelship sign`: signs a model directory with a local key (OpenSSF Model Signing bundle). */
import { readFile } from 'node:fs/promises';
import { isAbsolute, relative } from 'node:path';
import { SigningKeyError } from '../../supply-chain/signing/keys.ts';
import { ModelDirectoryError } from '../../supply-chain/signing/model-digest.ts';
import { DEFAULT_SIGNATURE_NAME, signModel } from '../../supply-chain/signing/sign-model.ts';
import { CliError, type Command, parseCommandArgs } from '../command.ts';

const USAGE = `Usage: modelship sign <model-dir | file> --key <private.key> [--output <path>] [--force]

Signs a MODEL DIRECTORY: every file in it (model.onnx, external-data files, anything else),
by relative path and SHA-256. Given a file, signs the directory that holds it. Top-level *.sig
files are signatures and are left out, so several people can co-sign the same directory.
Symbolic links, special files and names that are not plain UTF-8 POSIX names are refused.

Writes a Sigstore bundle (DSSE envelope, in-toto statement, predicate
https://model_signing/signature/v1.0) that the OpenSSF model_signing tool also verifies:
  model_signing verify key <dir> --signature <dir>/${DEFAULT_SIGNATURE_NAME} --public_key <key.pub>
Offline: a local ECDSA P-256 key (see \`modelship keygen\`), no Fulcio, no Rekor.

Options:
  --key <path>      private key PEM (from modelship keygen, or any unencrypted P-256 key)
  --output <path>   signature file (default <dir>/${DEFAULT_SIGNATURE_NAME}); inside the directory it
                    must be a top-level <name>.sig, e.g. <dir>/alice.sig to co-sign
  --force           replace an existing signature file`;

export const command: Command = {
  async run(argv) {
    const { values, positionals } = parseCommandArgs(
      argv,
      { key: { type: 'string' }, output: { type: 'string' }, force: { type: 'boolean' } },
      USAGE,
    );
    const [modelPath, ...extra] = positionals;
    if (modelPath === undefined) throw new CliError(`no model directory given\n\n${USAGE}`);
    if (extra.length > 0)
      throw new CliError(`one model directory at a time; unexpected "${extra[0]}"\n\n${USAGE}`);
    if (typeof values.key !== 'string') throw new CliError(`--key is required\n\n${USAGE}`);

    const privateKeyPem = await readFile(values.key, 'utf8').catch((error: NodeJS.ErrnoException) => {
      throw new CliError(`cannot read --key ${values.key}: ${error.code ?? error.message}`, 1);
    });
    try {
      const result = await signModel({
        modelPath,
        privateKeyPem,
        ...(typeof values.output === 'string' ? { output: values.output } : {}),
        overwrite: values.force === true,
      });
      const bytes = result.files.reduce((sum, f) => sum + f.sizeBytes, 0);
      console.log(`signed      ${display(result.modelDir)} (${result.files.length} files, ${bytes} bytes)`);
      for (const file of result.files) console.log(`  ${file.sha256.slice(0, 12)}…  ${file.path}`);
      console.log(`root digest sha256:${result.rootDigest}`);
      console.log(`key id      ${result.keyId}`);
      console.log(`signature   ${display(result.signaturePath)}`);
      return 0;
    } catch (error) {
      if (error instanceof SigningKeyError) throw new CliError(`--key ${values.key}: ${error.message}`, 1);
      if (error instanceof ModelDirectoryError) throw new CliError(error.message, 1);
      throw error;
    }
  },
};

/** A path relative to the working directory when it lies below it, absolute otherwise. */
function display(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel === '' ? '.' : rel.startsWith('..') || isAbsolute(rel) ? path : rel;
}
