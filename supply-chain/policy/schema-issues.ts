/**
 * The schema step of the policy parse: `specs/issues.ts` with the policy's schema, so a policy
 * author reads the same kind of message as a spec author ("missing required field", "unknown
 * field", "expected a map, got a list").
 */
import { type CheckResult, checkAgainst } from '../../specs/issues.ts';
import { type EnvironmentPolicy, EnvironmentPolicySchema } from './schema.ts';

/** The parsed policy (defaults applied), or every schema problem. */
export type PolicySchemaResult = CheckResult<EnvironmentPolicy>;

/** Checks plain data (from YAML) against the policy schema. */
export function checkPolicySchema(data: unknown): PolicySchemaResult {
  return checkAgainst(EnvironmentPolicySchema, data);
}
