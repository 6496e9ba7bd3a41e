/**
 * The JSON Schema of `ModelDeployment`, generated from the zod schema so editors (through the
 * `# yaml-language-server: $schema=…` line) complete and check specs as they are typed. The
 * generated text is committed as `specs/modeldeployment.schema.json`; `npm run schema` rewrites
 * it and a test fails while it is stale.
 */
import { z } from 'zod';
import { BASE_KIND, EXTENDS_KEY } from './overlay.ts';
import { API_VERSION, KIND, ModelDeploymentSchema, RolloutStepSchema } from './schema.ts';

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

/** The schema of the files of an overlay (a base, or a spec that extends one), committed beside it. */
export const OVERLAY_JSON_SCHEMA_PATH = 'specs/modeldeployment-overlay.schema.json';
export const OVERLAY_JSON_SCHEMA_URL = new URL('./modeldeployment-overlay.schema.json', import.meta.url);
export const OVERLAY_JSON_SCHEMA_ID = `https://${API_VERSION}/modeldeployment-overlay.schema.json`;

/**
 * The JSON Schema of one file of an overlay (`docs/overlays.md`): any part of a spec, so nothing
 * is required (the merged spec is checked in full by `modelship validate`), every field below the
 * top may be `null` (a merge patch's removal of the base's value), plus `extends:` and both kinds.
 */
export function overlayJsonSchema(): Record<string, unknown> {
  const { $schema, $id: _id, title: _title, ...rest } = modelDeploymentJsonSchema();
  const partial = overlayPart(rest, 0) as { properties?: Record<string, unknown> };
  return {
    $schema,
    $id: OVERLAY_JSON_SCHEMA_ID,
    title: 'modelship ModelDeployment overlay or base',
    ...partial,
    properties: {
      ...partial.properties,
      kind: {
        type: 'string',
        enum: [KIND, BASE_KIND],
        description: `${KIND} for a spec that extends a base, ${BASE_KIND} for the base itself.`,
      },
      [EXTENDS_KEY]: {
        type: 'string',
        description:
          'The base this spec extends: a path from the repository root to a ModelDeploymentBase. Merged as a JSON merge patch (RFC 7386).',
      },
    },
  };
}

/** The overlay schema's file text. */
export function renderOverlayJsonSchema(): string {
  return `${JSON.stringify(overlayJsonSchema(), null, 2)}\n`;
}

/**
 * A schema node as an overlay file may write it: the `required` keyword dropped everywhere, and
 * each property below the top level (`depth` counts `properties` maps) also allowed to be `null`.
 * A property that happens to be called `required` is a schema, not the keyword, and is kept.
 */
function overlayPart(node: unknown, depth: number): unknown {
  if (Array.isArray(node)) return node.map((item) => overlayPart(item, depth));
  if (typeof node !== 'object' || node === null) return node;
  return Object.fromEntries(
    Object.entries(node)
      .filter(([key, value]) => !(key === 'required' && Array.isArray(value)))
      .map(([key, value]) => {
        if (key !== 'properties' || typeof value !== 'object' || value === null) {
          return [key, overlayPart(value, depth)];
        }
        const properties = Object.entries(value).map(([name, schema]) => {
          const part = overlayPart(schema, depth + 1);
          if (depth === 0) return [name, part];
          // The description goes on the wrapper too, where editors look for it on hover.
          const { description } = part as { description?: string };
          return [name, { ...(description ? { description } : {}), anyOf: [part, { type: 'null' }] }];
        });
        return [key, Object.fromEntries(properties)];
      }),
  );
}
