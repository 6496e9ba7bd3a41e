/** `modelship keygen`: an ECDSA P-256 key pair for signing models, as two PEM files. */
import { mkdir, open, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { generateSigningKeyPair } from '../../supply-chain/signing/keys.ts';
import { CliError, type Command, parseCommandArgs } from '../command.ts';

const USAGE = `Usage: modelship keygen --out <dir> --name <name>

Creates an ECDSA P-256 key pair for \`modelship sign\`:
  <dir>/<name>.key   private key (PKCS#8 PEM, unencrypted, mode 0600): keep it secret, never commit it
  <dir>/<name>.pub   public key (PEM): give it to verifiers as a trusted key
Prints the key id (hex SHA-256 of the public key PEM, as OpenSSF model_signing computes it).
Refuses to overwrite existing files.

Options:
  --out <dir>     directory to write to (created if missing)
  --name <name>   file name stem: letters, digits, ".", "_" and "-"`;

export const command: Command = {
  async run(argv) {
    const { values, positionals } = parseCommandArgs(
      argv,
      { out: { type: 'string' }, name: { type: 'string' } },
      USAGE,
    );
    if (positionals.length > 0) throw new CliError(`unexpected argument "${positionals[0]}"\n\n${USAGE}`);
    const out = typeof values.out === 'string' ? values.out : undefined;
    const name = typeof values.name === 'string' ? values.name : undefined;
    if (!out || !name) throw new CliError(`--out and --name are required\n\n${USAGE}`);
    if (!/^[A-Za-z0-9_-][A-Za-z0-9._-]*$/.test(name)) {
      throw new CliError(
        `--name "${name}": use letters, digits, ".", "_" and "-" only (not starting with ".")`,
      );
    }

    await mkdir(out, { recursive: true });
    const privatePath = join(out, `${name}.key`);
    const publicPath = join(out, `${name}.pub`);
    const pair = generateSigningKeyPair();
    await writeNew(privatePath, pair.privateKeyPem, 0o600);
    try {
      await writeNew(publicPath, pair.publicKeyPem, 0o644);
    } catch (error) {
      // Never leave a private key whose public half was not written.
      await rm(privatePath, { force: true });
      throw error;
    }
    console.log(`key id       ${pair.keyId}`);
    console.log(`private key  ${privatePath}  (keep secret; do not commit)`);
    console.log(`public key   ${publicPath}`);
    return 0;
  },
};

/** Creates a file that must not exist yet, with its mode set at creation (no window where it is readable). */
async function writeNew(path: string, text: string, mode: number): Promise<void> {
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(path, 'wx', mode);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') {
      throw new CliError(`${path} already exists; choose another --name or --out`, 1);
    }
    throw error;
  }
  try {
    // The umask may have narrowed the mode; set it exactly.
    await handle.chmod(mode);
    await handle.writeFile(text);
  } finally {
    await handle.close();
  }
}
