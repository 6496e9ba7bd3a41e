/**
 * The admin API's request bodies: zod schemas (the server parses every body with them) and the
 * input types the admin client sends, inferred from the same schemas.
 */
import { z } from 'zod';

/** Version names appear in URLs, headers and metric labels, so they keep to a safe alphabet. */
const VersionName = z
  .string()
  .regex(
    /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/,
    'must be 1-128 characters: letters, digits, ".", "_" or "-", starting with a letter or digit',
  )
  .describe('A version name such as v2 or a short commit hash.');

/** Model names are spec names: DNS labels. */
export const ModelName = z
  .string()
  .max(63, 'must be at most 63 characters (a DNS label)')
  .regex(
    /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/,
    'must be a DNS label: lowercase letters, digits and "-", starting and ending with a letter or digit',
  );

/** `POST /models/{m}/versions`. */
export const LoadVersionBody = z.strictObject({
  version: VersionName,
  bundlePath: z
    .string()
    .min(1, 'must name a bundle directory')
    .describe('Directory holding model.onnx, spec.yaml, manifest.json.'),
});

/** `PUT /models/{m}/canary`. */
export const CanaryBody = z.strictObject({
  version: VersionName,
  weight: z.number().min(0, 'must be from 0 to 100 (percent)').max(100, 'must be from 0 to 100 (percent)'),
});

/** `PUT /models/{m}/shadow`. */
export const ShadowBody = z.strictObject({ version: VersionName });

/** `POST /models/{m}/promote`. */
export const PromoteBody = z.strictObject({ version: VersionName });

/** `POST /models/{m}/rollback` (an empty body is `{}`). */
export const RollbackBody = z.strictObject({
  toVersion: VersionName.optional(),
  reason: z.string().max(1000, 'must be at most 1000 characters').optional(),
});

/** The bodies as a client writes them. */
export type LoadVersionBody = z.input<typeof LoadVersionBody>;
export type CanaryBody = z.input<typeof CanaryBody>;
export type ShadowBody = z.input<typeof ShadowBody>;
export type PromoteBody = z.input<typeof PromoteBody>;
export type RollbackBody = z.input<typeof RollbackBody>;

/** zod issues as one line: `weight: must be from 0 to 100 (percent); version: ...`. */
export function describeIssues(error: z.ZodError): string {
  return error.issues
    .map((issue) => `${issue.path.length > 0 ? issue.path.join('.') : 'body'}: ${issue.message}`)
    .join('; ');
}
