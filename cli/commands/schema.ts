/**
 * `modelship schema`: the JSON Schema of the spec language, generated from `specs/schema.ts`.
 * Prints it, writes the committed copy (`--write`, what `npm run schema` runs), or checks that
 * the committed copy is current (`--check`, for CI).
 */
import { readFile, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import {
  JSON_SCHEMA_PATH,
  JSON_SCHEMA_URL,
  OVERLAY_JSON_SCHEMA_PATH,
  OVERLAY_JSON_SCHEMA_URL,
  renderJsonSchema,
  renderOverlayJsonSchema,
} from '../../specs/json-schema.ts';
import { CliError, type Command, parseCommandArgs } from '../command.ts';

const USAGE = `Usage: modelship schema [--write | --check]

Prints the JSON Schema of ModelDeployment specs, generated from specs/schema.ts.

Options:
  --write   write it to ${JSON_SCHEMA_PATH} instead (npm run schema), and the schema of
            overlay files (a base, or a spec that extends one) to ${OVERLAY_JSON_SCHEMA_PATH}
  --check   exit 1 if either committed file differs from the generated schema
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
    const files = [
      { path: JSON_SCHEMA_PATH, file: fileURLToPath(JSON_SCHEMA_URL), text: generated },
      {
        path: OVERLAY_JSON_SCHEMA_PATH,
        file: fileURLToPath(OVERLAY_JSON_SCHEMA_URL),
        text: renderOverlayJsonSchema(),
      },
    ];
    if (values.write) {
      for (const { path, file, text } of files) {
        await writeFile(file, text);
        console.log(`wrote ${path}`);
      }
      return 0;
    }
    if (values.check) {
      let stale = 0;
      for (const { path, file, text } of files) {
        const committed = await readFile(file, 'utf8').catch(() => undefined);
        if (committed === text) {
          console.log(`${path} is up to date`);
          continue;
        }
        stale += 1;
        console.error(
          `${path} is ${committed === undefined ? 'missing' : 'out of date with specs/schema.ts'}: run \`npm run schema\``,
        );
      }
      return stale === 0 ? 0 : 1;
    }
    process.stdout.write(generated);
    return 0;
  },
};
