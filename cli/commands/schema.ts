/**
 * `modelship schema`: the JSON Schema of the spec language, generated from `specs/schema.ts`.
 * Prints it, writes the committed copy (`--write`, what `npm run schema` runs), or checks that
 * the committed copy is current (`--check`, for CI).
 */
import { readFile, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { JSON_SCHEMA_PATH, JSON_SCHEMA_URL, renderJsonSchema } from '../../specs/json-schema.ts';
import { CliError, type Command, parseCommandArgs } from '../command.ts';

const USAGE = `Usage: modelship schema [--write | --check]

Prints the JSON Schema of ModelDeployment specs, generated from specs/schema.ts.

Options:
  --write   write it to ${JSON_SCHEMA_PATH} instead (npm run schema)
  --check   exit 1 if ${JSON_SCHEMA_PATH} differs from the generated schema
  -h, --help`;

export const command: Command = {
  async run(argv) {
    const { values, positionals } = parseCommandArgs(
      argv,
      { write: { type: 'boolean' }, check: { type: 'boolean' } },
      USAGE,
    );
    if (positionals.length > 0) throw new CliError(`unexpected argument "${positionals[0]}"\n\n${USAGE}`);
    if (values.write && values.check)
      throw new CliError(`--write and --check exclude each other\n\n${USAGE}`);

    const generated = renderJsonSchema();
    const file = fileURLToPath(JSON_SCHEMA_URL);
    if (values.write) {
      await writeFile(file, generated);
      console.log(`wrote ${JSON_SCHEMA_PATH}`);
      return 0;
    }
    if (values.check) {
      const committed = await readFile(file, 'utf8').catch(() => undefined);
      if (committed === generated) {
        console.log(`${JSON_SCHEMA_PATH} is up to date`);
        return 0;
      }
      console.error(
        `${JSON_SCHEMA_PATH} is ${committed === undefined ? 'missing' : 'out of date with specs/schema.ts'}: run \`npm run schema\``,
      );
      return 1;
    }
    process.stdout.write(generated);
    return 0;
  },
};
