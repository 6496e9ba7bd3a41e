/**
 * Reading a packaged bundle (`activities/package.ts` writes it, `domain/bundle-format.ts` says
 * what is in it): `model.onnx`, `spec.yaml` and `manifest.json` in one directory. The server takes from it what serving needs: the model's file
 * path (onnxruntime loads from the path, never from a Buffer, so external-data paths resolve
 * against the bundle), the bundle digest, the model name and the output holding the predicted
 * class. When the manifest lists file digests, the files are checked against them, so a bundle
 * edited after packaging is refused instead of served.
 *
 * Every file is read through its real path, checked to lie inside the bundle directory
 * (`bundle-root.ts`), so a bundle cannot make the server read, hash or quote a file elsewhere.
 * Parse errors of the manifest do not quote it either (V8's JSON messages quote the text).
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import {
  type LooseBundleManifest,
  MANIFEST_FILE,
  MODEL_FILE,
  parseLooseBundleManifest,
  SPEC_FILE,
} from '../domain/bundle-format.ts';
import { parseReferenceProfile, type ReferenceProfile } from '../domain/reference-profile.ts';
import { formatSpecError, parseSpec } from '../specs/parse.ts';
import type { ModelDeployment } from '../specs/schema.ts';
import { BundlePathError, bundleFile, resolveBundleDir } from './bundle-root.ts';

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
  /**
   * The holdout's reference profile from the manifest, which live statistics are binned against;
   * undefined for bundles packaged before profiles existed or made by hand.
   */
  profile: ReferenceProfile | undefined;
}

/** A bundle that cannot be served as it is; the message says which file and why. */
export class BundleError extends Error {
  override readonly name = 'BundleError';
}

/** The real path of a bundle file, or BundleError when it is missing or leads outside the bundle. */
async function fileOf(dir: string, name: string): Promise<string> {
  const path = await bundleFile(dir, name).catch((error: unknown) => {
    throw error instanceof BundlePathError ? new BundleError(error.message) : error;
  });
  if (path === undefined) throw new BundleError(`bundle ${dir} has no ${name}`);
  return path;
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
  const path = await fileOf(dir, MANIFEST_FILE);
  let json: unknown;
  try {
    json = JSON.parse(await readText(path));
  } catch (error) {
    if (error instanceof BundleError) throw error;
    throw new BundleError(`${path} is not valid JSON`);
  }
  const parsed = parseLooseBundleManifest(json);
  if (!parsed.ok) throw new BundleError(`${path} is not a bundle manifest: ${parsed.errors.join('; ')}`);
  return parsed.manifest;
}

/** The manifest's reference profile; a profile that is there but malformed refuses the bundle. */
function readProfile(manifest: LooseBundleManifest, dir: string): ReferenceProfile | undefined {
  if (manifest.referenceProfile === undefined) return undefined;
  const parsed = parseReferenceProfile(manifest.referenceProfile);
  if (!parsed.ok) {
    throw new BundleError(
      `${dir}/${MANIFEST_FILE} has a malformed referenceProfile: ${parsed.errors.slice(0, 5).join('; ')}`,
    );
  }
  return parsed.profile;
}

/**
 * Reads and checks a bundle directory; throws BundleError naming the file and the problem. The
 * directory is taken as given (the admin API has already confined it to the bundle roots); the
 * files are confined to it.
 */
export async function readBundle(bundlePath: string): Promise<ServableBundle> {
  const dir = await resolveBundleDir(undefined, bundlePath).catch((error: unknown) => {
    throw error instanceof BundlePathError ? new BundleError(error.message) : error;
  });
  const manifest = await readManifest(dir);
  for (const file of manifest.files ?? []) {
    const path = await fileOf(dir, file.path);
    const actual = await sha256File(path).catch((error: unknown) => {
      throw new BundleError(`cannot read ${path}: ${(error as Error).message}`);
    });
    if (actual !== file.sha256) {
      throw new BundleError(
        `${path} has sha256 ${actual}, but ${MANIFEST_FILE} says ${file.sha256}: the bundle was changed after packaging`,
      );
    }
  }
  const specPath = await fileOf(dir, SPEC_FILE);
  const parsed = parseSpec(await readText(specPath), { file: specPath });
  if (!parsed.ok) {
    throw new BundleError(
      `${specPath} is not a valid spec: ${parsed.errors.map(formatSpecError).join('; ')}`,
    );
  }
  const { spec, metadata } = parsed.spec;
  return {
    profile: readProfile(manifest, dir),
    path: dir,
    modelPath: await fileOf(dir, MODEL_FILE),
    digest: manifest.digest,
    modelName: metadata.name,
    predictionOutput: spec.validation.holdout.predictionOutput,
    interface: spec.interface,
  };
}
