/**
 * `validateBom`: checks a BOM against the CycloneDX 1.6 JSON schema with the CycloneDX library's
 * own validator (ajv). The schema files ship inside the library package and its validator refuses
 * to fetch remote schemas, so validation works on a machine without network access.
 */
import { Spec, Validation } from '@cyclonedx/cyclonedx-library';

let validator: Validation.JsonStrictValidator | undefined;

/**
 * Schema errors of a CycloneDX 1.6 JSON document, one `/json/pointer: message` line each; empty
 * when it is valid. Text that is not JSON is one error, not a rejection.
 */
export async function validateBom(json: string | object): Promise<string[]> {
  let text: string;
  if (typeof json === 'string') {
    try {
      JSON.parse(json);
    } catch (error) {
      return [`/: not JSON: ${(error as Error).message}`];
    }
    text = json;
  } else {
    text = JSON.stringify(json);
  }
  // Compiling the schema takes a moment; one compiled validator serves every later call.
  validator ??= new Validation.JsonStrictValidator(Spec.Version.v1dot6);
  const errors = await validator.validate(text);
  if (errors === null) return [];
  return (Array.isArray(errors) ? errors : [errors]).map(describeError);
}

/** The fields of an ajv error the message uses; the library types its errors as `any`. */
interface SchemaError {
  instancePath?: string;
  message?: string;
  params?: Record<string, unknown>;
}

function describeError(error: SchemaError): string {
  const where = error.instancePath || '/';
  const allowed = error.params?.allowedValues;
  const extra = error.params?.additionalProperty;
  let detail = '';
  if (Array.isArray(allowed)) detail = ` (${allowed.join(', ')})`;
  else if (typeof extra === 'string') detail = ` ("${extra}")`;
  return `${where}: ${error.message ?? 'is invalid'}${detail}`;
}
