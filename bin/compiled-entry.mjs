// Starts a TypeScript entry point of modelship (the CLI, the isolated ONNX child) quickly.
//
// modelship runs its sources with no build step. Loading them through tsx's loader costs each
// process 0.2 to 0.35 s of CPU before it does anything (a loader thread, then a resolve and a
// cache lookup per module), and the CLI, every `serve` replica and every isolated model run pay
// it again. So the first start of an entry point bundles it with esbuild (the compiler tsx itself
// runs) into node_modules/.cache/modelship/entries/, one chunk per lazily loaded command, and
// later starts import that bundle as long as every source file it was built from still has the
// size and modification time recorded at build (about 150 stat calls, a few milliseconds).
//
// Nothing here may cost correctness: a cache that cannot be read, written or built falls back to
// tsx for this start (MODELSHIP_COMPILED_ENTRIES=0 forces that), and an edited source is never
// run stale. Run as a program (`node bin/compiled-entry.mjs cli/main.ts ...`) it builds the named
// entries ahead of time, as the container image does for a user that cannot write its /app.
import { createHash, randomUUID } from 'node:crypto';
import {
  accessSync,
  constants,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const PROJECT_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const CACHE_ROOT = join(PROJECT_ROOT, 'node_modules', '.cache', 'modelship', 'entries');
/** Bumped when what a build writes changes shape, so older caches are rebuilt, not misread. */
const CACHE_FORMAT = 2;
/** Names the current build of an entry and the sources it was built from. */
const MANIFEST = 'manifest.json';
/** A superseded build may still be read by a process that started just before it was replaced. */
const SUPERSEDED_AFTER_MS = 10 * 60 * 1000;
/** Bundles target, and are kept apart by, the running Node's major version. */
const NODE_MAJOR = process.versions.node.split('.')[0];

/**
 * Imports the TypeScript module at `entryUrl` (a file: URL) as a program's entry: from its
 * compiled bundle when that is usable, else through tsx. The module's own failures propagate;
 * only the cache's failures fall back.
 */
export async function importEntry(entryUrl) {
  const entryPath = fileURLToPath(entryUrl);
  let compiled;
  if (process.env.MODELSHIP_COMPILED_ENTRIES !== '0') {
    try {
      compiled = await compiledEntry(entryPath);
    } catch (error) {
      if (process.env.MODELSHIP_DEBUG_ENTRIES) {
        process.stderr.write(
          `modelship: starting ${relative(PROJECT_ROOT, entryPath)} through tsx: ${error}\n`,
        );
      }
    }
  }
  if (compiled) {
    // Stack traces of the bundle then name the TypeScript file and line, as under tsx.
    process.setSourceMapsEnabled(true);
    return import(pathToFileURL(compiled).href);
  }
  const { register } = await import('tsx/esm/api');
  register();
  return import(entryUrl.href);
}

/**
 * The path of `entryPath`'s current bundle, building it when there is none or a source it was
 * built from has changed. Throws when the cache folder is not writable and no current bundle is.
 * `root` is the project the sources belong to (package imports stay imports, resolved from the
 * cache folder, so `cacheRoot` must lie inside the project's node_modules or beside it).
 */
export async function compiledEntry(entryPath, { root = PROJECT_ROOT, cacheRoot = CACHE_ROOT } = {}) {
  const folder = join(cacheRoot, cacheName(entryPath));
  const current = currentBundle(folder, root);
  if (current) return current;
  // Fail fast and cheaply where the cache cannot be written (a read-only image, another user's
  // checkout) instead of bundling for nothing on every start.
  mkdirSync(folder, { recursive: true });
  accessSync(folder, constants.W_OK);
  await build(entryPath, folder, root);
  const built = currentBundle(folder, root);
  if (!built) throw new Error(`the bundle of ${entryPath} was built but is not current`);
  return built;
}

/** One folder per entry point, esbuild version and Node major: none of them share output. */
function cacheName(entryPath) {
  // Read here, not at import: without esbuild this throws inside compiledEntry, and the CLI falls
  // back to tsx instead of failing to load.
  const esbuildVersion = JSON.parse(
    readFileSync(createRequire(import.meta.url).resolve('esbuild/package.json'), 'utf8'),
  ).version;
  const key = [CACHE_FORMAT, entryPath, esbuildVersion, NODE_MAJOR].join('\n');
  const stem = basename(entryPath).replace(/\.[^.]+$/, '');
  return `${stem}-${createHash('sha256').update(key).digest('hex').slice(0, 16)}`;
}

/** The bundle's main file when the manifest's every input is unchanged; otherwise undefined. */
function currentBundle(folder, root) {
  let manifest;
  try {
    manifest = JSON.parse(readFileSync(join(folder, MANIFEST), 'utf8'));
  } catch {
    return undefined;
  }
  if (manifest.format !== CACHE_FORMAT || !Array.isArray(manifest.inputs)) return undefined;
  for (const [path, size, mtimeMs] of manifest.inputs) {
    let stats;
    try {
      stats = statSync(join(root, path));
    } catch {
      return undefined;
    }
    if (stats.size !== size || stats.mtimeMs !== mtimeMs) return undefined;
  }
  return join(folder, manifest.main);
}

/**
 * Bundles `entryPath` into a build folder of its own, then points the manifest at it with one
 * rename. A build folder is never changed or removed while it may be in use: processes starting
 * at the same moment may each build, the last rename wins and every build is whole. Builds
 * superseded long ago (every import of a process happens as it starts) are removed.
 */
async function build(entryPath, folder, root) {
  const { build: esbuild } = await import('esbuild');
  const id = `build-${randomUUID()}`;
  const outdir = join(folder, id);
  // Sizes and times are taken as esbuild reads each file: one edited meanwhile looks changed.
  const before = new Map();
  try {
    const result = await esbuild({
      entryPoints: [entryPath],
      outdir,
      bundle: true,
      splitting: true,
      format: 'esm',
      platform: 'node',
      target: `node${NODE_MAJOR}`,
      packages: 'external',
      sourcemap: 'linked',
      metafile: true,
      logLevel: 'silent',
      plugins: [sourceLocationPlugin(before)],
      absWorkingDir: root,
    });
    // tsconfig.json shapes esbuild's output too, though no module imports it.
    const tsconfig = existsSync(join(root, 'tsconfig.json')) ? ['tsconfig.json'] : [];
    const inputs = [...Object.keys(result.metafile.inputs), ...tsconfig].map((input) => {
      const path = resolve(root, input);
      const stats = before.get(path) ?? statSync(path);
      return [relative(root, path), stats.size, stats.mtimeMs];
    });
    // Each lazily imported module is an entry point of its own chunk too: pick ours.
    const entryInput = relative(root, entryPath);
    const output = Object.entries(result.metafile.outputs).find(([, meta]) => meta.entryPoint === entryInput);
    if (!output) throw new Error('esbuild reported no output for the entry point');
    const main = relative(folder, resolve(root, output[0]));
    const pending = join(folder, `${MANIFEST}.${id}`);
    writeFileSync(pending, JSON.stringify({ format: CACHE_FORMAT, main, inputs }));
    renameSync(pending, join(folder, MANIFEST));
  } catch (error) {
    rmSync(outdir, { recursive: true, force: true });
    throw error;
  }
  removeSupersededBuilds(folder, id);
}

/** Removes the builds other than `keep` that are older than SUPERSEDED_AFTER_MS; best effort. */
function removeSupersededBuilds(folder, keep) {
  for (const name of readdirSync(folder)) {
    if (name === keep || name === MANIFEST) continue;
    const path = join(folder, name);
    try {
      if (Date.now() - statSync(path).mtimeMs > SUPERSEDED_AFTER_MS)
        rmSync(path, { recursive: true, force: true });
    } catch {
      // Another process removed it first.
    }
  }
}

/**
 * Keeps each module's `import.meta.url` its source file's URL. Bundled, it would be the chunk's,
 * and the modules that find files beside them (schemas, the workflow sources, the ONNX child's
 * entry, package.json) would look in the cache folder instead. Also records each source's size
 * and time as read.
 */
function sourceLocationPlugin(before) {
  return {
    name: 'modelship-source-location',
    setup(pluginBuild) {
      pluginBuild.onLoad({ filter: /\.(?:[cm]?ts|[cm]?js|json)$/ }, (args) => {
        if (args.path.includes('/node_modules/')) return undefined;
        before.set(args.path, statSync(args.path));
        if (args.path.endsWith('.json')) return undefined;
        const source = readFileSync(args.path, 'utf8');
        const contents = source.includes('import.meta.url')
          ? source.replaceAll('import.meta.url', JSON.stringify(pathToFileURL(args.path).href))
          : source;
        const loader = /\.[cm]?ts$/.test(args.path) ? 'ts' : 'js';
        return { contents, loader };
      });
    },
  };
}

/** `node bin/compiled-entry.mjs <entry.ts>...`: builds each entry's bundle now. */
if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const entries = process.argv.slice(2);
  if (entries.length === 0) {
    process.stderr.write('usage: node bin/compiled-entry.mjs <entry.ts>...\n');
    process.exitCode = 2;
  }
  for (const entry of entries) {
    const bundle = await compiledEntry(resolve(entry));
    process.stdout.write(`${entry}: ${relative(PROJECT_ROOT, bundle)}\n`);
  }
}
