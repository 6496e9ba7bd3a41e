/**
 * Reading a packaged bundle (`activities/package.ts` writes it, `domain/bundle-format.ts` says
 * what is in it): `model.onnx`, `spec.yaml` and `manifest.json` in one directory. The server takes from it what serving needs: the model's file
 * path (onnxruntime loads from the path, never from a Buffer, so external-data paths resolve
 * against the bundle), the bundle digest, the model name and the output holding the predicted
 * class. When the manifest lists file digests, the files are checked against them, so a bundle
 * edited after packaging is refused instead of served.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import {
  type LooseBundleManifest,
  MANIFEST_FILE,
  MODEL_FILE,
  parseLooseBundleManifest,
  SPEC_FILE,
} from '../domain/bundle-format.ts';
import { formatSpecError, parseSpec } from '../specs/parse.ts';
import type { ModelDeployment } from '../specs/schema.ts';

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

/**
 * The manifest, parsed loosely on purpose: the server reads only the digest and the file digests,
 * and must serve bundles packaged by earlier versions and bundles made by hand (tests, benchmarks).
 */
async function readManifest(dir: string): Promise<LooseBundleManifest> {
  const path = join(dir, MANIFEST_FILE);
  let json: unknown;
  try {
    json = JSON.parse(await readText(path));
  } catch (error) {
    if (error instanceof BundleError) throw error;
    throw new BundleError(`${path} is not valid JSON: ${(error as Error).message}`);
  }
  const parsed = parseLooseBundleManifest(json);
  if (!parsed.ok) throw new BundleError(`${path} is not a bundle manifest: ${parsed.errors.join('; ')}`);
  return parsed.manifest;
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
