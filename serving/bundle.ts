/**
 * Reading a packaged bundle (`activities/package.ts` writes it): `model.onnx`, `spec.yaml` and
 * `manifest.json` in one directory. The server takes from it what serving needs: the model's file
 * path (onnxruntime loads from the path, never from a Buffer, so external-data paths resolve
 * against the bundle), the bundle digest, the model name and the output holding the predicted
 * class. When the manifest lists file digests, the files are checked against them, so a bundle
 * edited after packaging is refused instead of served.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { formatSpecError, parseSpec } from '../specs/parse.ts';
import type { ModelDeployment } from '../specs/schema.ts';

// The same names as `activities/package.ts`; repeated rather than imported so the data plane does
// not load the activity code (and the Temporal SDK behind it) at start-up.
const MODEL_FILE = 'model.onnx';
const SPEC_FILE = 'spec.yaml';
const MANIFEST_FILE = 'manifest.json';

/** What the server needs from a bundle directory. */
export interface ServableBundle {
  /** Absolute bundle directory. */
  path: string;
  /** Absolute path of `model.onnx`. */
  modelPath: string;
  /** The bundle digest from `manifest.json`. */
  digest: string;
  /** `metadata.name` of the bundled spec. */
  modelName: string;
  /** The model output holding the predicted class (`validation.holdout.predictionOutput`). */
  predictionOutput: string;
  interface: ModelDeployment['spec']['interface'];
}

/** A bundle that cannot be served as it is; the message says which file and why. */
export class BundleError extends Error {
  override readonly name = 'BundleError';
}

// Loose on purpose: the manifest carries validation and scan reports the server does not read.
const ManifestSchema = z.object({
  digest: z.string().min(1, 'must be a non-empty string'),
  files: z
    .array(z.object({ path: z.string().min(1), sha256: z.string().regex(/^[a-f0-9]{64}$/) }))
    .optional(),
});

async function readText(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    throw new BundleError(`cannot read ${path}: ${(error as Error).message}`);
  }
}

async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

async function readManifest(dir: string): Promise<z.output<typeof ManifestSchema>> {
  const path = join(dir, MANIFEST_FILE);
  let json: unknown;
  try {
    json = JSON.parse(await readText(path));
  } catch (error) {
    if (error instanceof BundleError) throw error;
    throw new BundleError(`${path} is not valid JSON: ${(error as Error).message}`);
  }
  const parsed = ManifestSchema.safeParse(json);
  if (!parsed.success) {
    const problems = parsed.error.issues.map(
      (issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`,
    );
    throw new BundleError(`${path} is not a bundle manifest: ${problems.join('; ')}`);
  }
  return parsed.data;
}

/** Reads and checks a bundle directory; throws BundleError naming the file and the problem. */
export async function readBundle(bundlePath: string): Promise<ServableBundle> {
  const dir = resolve(bundlePath);
  const manifest = await readManifest(dir);
  for (const file of manifest.files ?? []) {
    const actual = await sha256File(join(dir, file.path)).catch((error: unknown) => {
      throw new BundleError(`cannot read ${join(dir, file.path)}: ${(error as Error).message}`);
    });
    if (actual !== file.sha256) {
      throw new BundleError(
        `${join(dir, file.path)} has sha256 ${actual}, but ${MANIFEST_FILE} says ${file.sha256}: the bundle was changed after packaging`,
      );
    }
  }
  const specPath = join(dir, SPEC_FILE);
  const parsed = parseSpec(await readText(specPath), { file: specPath });
  if (!parsed.ok) {
    throw new BundleError(
      `${specPath} is not a valid spec: ${parsed.errors.map(formatSpecError).join('; ')}`,
    );
  }
  const { spec, metadata } = parsed.spec;
  return {
    path: dir,
    modelPath: join(dir, MODEL_FILE),
    digest: manifest.digest,
    modelName: metadata.name,
    predictionOutput: spec.validation.holdout.predictionOutput,
    interface: spec.interface,
  };
}
