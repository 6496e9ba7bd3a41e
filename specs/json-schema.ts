/**
 * The JSON Schema of `ModelDeployment`, generated from the zod schema so editors (through the
 * `# yaml-language-server: $schema=…` line) complete and check specs as they are typed. The
 * generated text is committed as `specs/modeldeployment.schema.json`; `npm run schema` rewrites
 * it and a test fails while it is stale.
 */
import { z } from 'zod';
import { API_VERSION, ModelDeploymentSchema, RolloutStepSchema } from './schema.ts';

/** Where the generated schema is committed, relative to the repository root. */
export const JSON_SCHEMA_PATH = 'specs/modeldeployment.schema.json';

/** The committed file, located from this module so it does not depend on the working directory. */
export const JSON_SCHEMA_URL = new URL('./modeldeployment.schema.json', import.meta.url);

/** `$id` of the schema: the spec language version it describes is part of it. */
export const JSON_SCHEMA_ID = `https://${API_VERSION}/modeldeployment.schema.json`;

/** The JSON Schema of a spec as authors write it (input types: defaults are optional). */
export function modelDeploymentJsonSchema(): Record<string, unknown> {
  const generated = z.toJSONSchema(ModelDeploymentSchema, {
    io: 'input',
    // Draft 7 is what YAML and JSON editors support best.
    target: 'draft-07',
    override: ({ zodSchema, jsonSchema }) => {
      // Zod sees a strict object of optional keys; "exactly one kind" lives in a refinement it
      // cannot export, so say it in JSON Schema terms.
      if (zodSchema === RolloutStepSchema) {
        jsonSchema.minProperties = 1;
        jsonSchema.maxProperties = 1;
      }
    },
  });
  const { $schema, ...rest } = generated;
  // Key order: $schema, $id, title first, as readers of the file expect.
  return { $schema, $id: JSON_SCHEMA_ID, title: 'modelship ModelDeployment', ...rest };
}

/** The file's exact text: 2-space JSON and a trailing newline. */
export function renderJsonSchema(): string {
  return `${JSON.stringify(modelDeploymentJsonSchema(), null, 2)}\n`;
}
