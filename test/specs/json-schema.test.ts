/** The committed JSON Schema for editors: current with the zod schema, and as helpful as it can be. */
import { readFileSync } from 'node:fs';
import { Ajv } from 'ajv';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import {
  JSON_SCHEMA_ID,
  JSON_SCHEMA_URL,
  modelDeploymentJsonSchema,
  OVERLAY_JSON_SCHEMA_URL,
  overlayJsonSchema,
  renderJsonSchema,
  renderOverlayJsonSchema,
} from '../../specs/json-schema.ts';
import { STEP_KINDS } from '../../specs/schema.ts';

type JsonSchema = { [key: string]: unknown; properties?: Record<string, JsonSchema>; items?: JsonSchema };

describe('specs/modeldeployment.schema.json', () => {
  it('is the schema generated from specs/schema.ts', () => {
    const committed = readFileSync(JSON_SCHEMA_URL, 'utf8');
    // toBe, not a snapshot: a stale file must fail in CI, with the way out in the message.
    expect(
      committed === renderJsonSchema(),
      'specs/modeldeployment.schema.json is stale: run `npm run schema`',
    ).toBe(true);
  });

  it('is 2-space JSON with a trailing newline', () => {
    const text = renderJsonSchema();
    expect(text.endsWith('}\n')).toBe(true);
    expect(text.split('\n')[1]).toMatch(/^ {2}"\$schema"/);
  });

  it('identifies itself', () => {
    const schema = modelDeploymentJsonSchema();
    expect(schema.$id).toBe(JSON_SCHEMA_ID);
    expect(schema.title).toBe('modelship ModelDeployment');
    expect(schema.$schema).toBe('http://json-schema.org/draft-07/schema#');
  });

  it('lets a rollout step have exactly one kind', () => {
    const step = stepSchema();
    expect(step).toMatchObject({ minProperties: 1, maxProperties: 1, additionalProperties: false });
    expect(Object.keys(step.properties ?? {})).toEqual([...STEP_KINDS]);
  });

  it('describes every field, so editors can show help on hover', () => {
    expect(undescribed(modelDeploymentJsonSchema() as JsonSchema, '')).toEqual([]);
  });
});

function stepSchema(): JsonSchema {
  const root = modelDeploymentJsonSchema() as JsonSchema;
  const steps = root.properties?.spec?.properties?.rollout?.properties?.steps?.items;
  if (steps === undefined) throw new Error('no spec.rollout.steps items in the JSON Schema');
  return steps;
}

/** Dot paths of properties without a description, anywhere in the schema. */
function undescribed(schema: JsonSchema, path: string): string[] {
  const own = Object.entries(schema.properties ?? {}).flatMap(([name, property]) => {
    const at = path === '' ? name : `${path}.${name}`;
    return [...(typeof property.description === 'string' ? [] : [at]), ...undescribed(property, at)];
  });
  return schema.items === undefined ? own : [...own, ...undescribed(schema.items, `${path}[]`)];
}

describe('specs/modeldeployment-overlay.schema.json', () => {
  const validate = () => new Ajv({ strict: false, allErrors: true }).compile(overlayJsonSchema());
  const example = (name: string) =>
    parse(readFileSync(new URL(`../../specs/examples/overlays/${name}.yaml`, import.meta.url), 'utf8'));

  it('is the overlay schema generated from specs/schema.ts', () => {
    expect(
      readFileSync(OVERLAY_JSON_SCHEMA_URL, 'utf8') === renderOverlayJsonSchema(),
      'specs/modeldeployment-overlay.schema.json is stale: run `npm run schema`',
    ).toBe(true);
  });

  it('accepts the shipped base and the specs over it, each only a part of a spec', () => {
    const check = validate();
    for (const name of ['base', 'staging', 'production']) {
      expect(check(example(name)) ? [] : check.errors, name).toEqual([]);
    }
  });

  it('still flags what no spec may say: an unknown field, a wrong type, another kind', () => {
    const check = validate();
    expect(check({ ...example('staging'), spec: { rollout: { enviroment: 'x' } } })).toBe(false);
    expect(check({ ...example('staging'), extends: 42 })).toBe(false);
    expect(check({ ...example('staging'), kind: 'Deployment' })).toBe(false);
  });

  it("accepts null below the top, which removes the base's value, and nowhere a value is expected", () => {
    const check = validate();
    const over = (spec: Record<string, unknown>) => ({
      ...example('staging'),
      spec: { ...example('staging').spec, ...spec },
    });
    expect(check(over({ monitoring: null })) ? [] : check.errors).toEqual([]);
    expect(check(over({ analysis: { minRequests: null } })) ? [] : check.errors).toEqual([]);
    expect(check(over({ monitoring: 5 }))).toBe(false);
    expect(check(over({ analysis: { minRequests: 'many' } }))).toBe(false);
    expect(check({ ...example('staging'), spec: null })).toBe(false);
    expect(check({ ...example('staging'), kind: null })).toBe(false);
  });
});
