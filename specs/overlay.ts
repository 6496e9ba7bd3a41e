/**
 * Environment overlays: one base and small per-environment specs that override it.
 *
 * A spec names its base with a top-level `extends: <repository path>`; the base is a document of
 * kind `ModelDeploymentBase` holding any part of a spec. The effective spec is the base with the
 * overlay applied as a JSON merge patch (RFC 7386): maps merge key by key, a list or a scalar
 * replaces what the base had, and `null` removes the base's value. One level only: a base
 * extends nothing, so what an environment deploys is always two files a reviewer can read.
 *
 * The effective spec is rendered as YAML text (`renderLayered`), and that text is what the rest
 * of modelship deploys, digests and records: workers, bundles and the audit log see a plain
 * spec and never need the files it came from. Errors, though, are placed in the file that wrote
 * the field (`placeOf`), so an author fixes the base or the overlay, not a text they never saw.
 *
 * Pure (no `node:fs`): callers read the base themselves, through `readBaseAhead`.
 */
import { isMap, isSeq, stringify } from 'yaml';
import type { FieldPath } from './errors.ts';
import { checkRepoPath, normalizeRepoPath } from './locations.ts';
import { looseYamlData, type Position, positionOf, type SpecSource } from './yaml-source.ts';

/** The top-level key of a spec that names its base. */
export const EXTENDS_KEY = 'extends';
/** The kind of a base document: never deployed on its own, so never planned on its own. */
export const BASE_KIND = 'ModelDeploymentBase';

/** The text of a repository file, or `undefined` when the file does not exist. */
export type ReadRepoFile = (path: string) => string | undefined;

/** A position with the file it is in: the overlay's or its base's. */
export interface Place extends Position {
  file: string;
}

/** A spec document, and the base it overrides when it has one. */
export interface LayeredSource extends SpecSource {
  base?: SpecSource;
}

/** `extends:` as written, when the YAML's top level has it as a string. */
export function extendsOf(data: unknown): string | undefined {
  if (!isRecord(data)) return undefined;
  const value = data[EXTENDS_KEY];
  return typeof value === 'string' ? value : undefined;
}

/** The repository path `extends:` names, normalized; `undefined` when absent or not a valid path. */
export function basePathOf(data: unknown): string | undefined {
  const written = extendsOf(data);
  if (written === undefined || checkRepoPath(written) !== undefined) return undefined;
  return normalizeRepoPath(written);
}

/** Whether YAML text is a base (`kind: ModelDeploymentBase`); text that does not parse is not. */
export function declaresBase(text: string): boolean {
  return isBaseDocument(looseYamlData(text));
}

/** Whether the YAML's top level declares `kind: ModelDeploymentBase`. */
export function isBaseDocument(data: unknown): boolean {
  return isRecord(data) && data.kind === BASE_KIND;
}

/**
 * RFC 7386: `patch` applied to `target`. Maps merge recursively, `null` deletes, anything else
 * (lists included) replaces. Key order: the target's keys first, then the patch's new ones, so the
 * rendered text reads like the base with the overlay's additions below.
 */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isRecord(patch)) return patch;
  const merged: Record<string, unknown> = {};
  if (isRecord(target)) for (const [key, value] of Object.entries(target)) define(merged, key, value);
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete merged[key];
    else define(merged, key, mergePatch(Object.hasOwn(merged, key) ? merged[key] : undefined, value));
  }
  return merged;
}

/**
 * The effective spec's data: the base's `kind` and `extends` dropped, the overlay's kept, so the
 * result is a plain `ModelDeployment` document.
 */
export function mergeLayers(base: unknown, overlay: unknown): unknown {
  const { kind: _kind, ...baseFields } = isRecord(base) ? base : {};
  const merged = mergePatch(baseFields, overlay);
  if (isRecord(merged)) delete merged[EXTENDS_KEY];
  return merged;
}

/**
 * The text of the effective spec: YAML of the merged data under a header naming both files. The
 * same data always gives the same text, so its digest names the effective spec wherever it is
 * computed (plan, apply, reconcile).
 */
export function renderLayered(merged: unknown, baseFile: string): string {
  // Only the base is named: the overlay's path depends on how a caller spelt it (./specs/x.yaml,
  // an absolute path), and the text must not, or its digest would differ between plan and apply.
  const header = `# modelship: a spec over its base ${baseFile}; edit those two files, not this text\n`;
  return header + stringify(merged, { lineWidth: 0 });
}

/**
 * Where `path` was written: in the overlay when it has the path, else in the base when the base
 * has it deeper; a field neither has (a missing one, or a default) is placed where the deeper of
 * the two stops, the overlay winning ties.
 */
export function placeOf(source: LayeredSource, path: FieldPath, at: 'value' | 'key' = 'value'): Place {
  const overlayDepth = depthIn(source, path);
  const { base } = source;
  if (base !== undefined && depthIn(base, path) > overlayDepth) {
    return { file: base.file, ...positionOf(base, path, at) };
  }
  return { file: source.file, ...positionOf(source, path, at) };
}

/**
 * The effective text of a spec read loosely, for the questions asked of every spec in a tree
 * (which deployment, which digest): the rendered text when it extends a base that parses, else
 * the text itself. For a valid spec this is the `text` that `parseSpec` returns.
 */
export function effectiveText(text: string, readFile: ReadRepoFile): string {
  const overlay = looseYamlData(text);
  const basePath = basePathOf(overlay);
  if (basePath === undefined) return text;
  const baseText = readFile(basePath);
  const base = baseText === undefined ? undefined : looseYamlData(baseText);
  if (!isRecord(base) || !isBaseDocument(base) || extendsOf(base) !== undefined) return text;
  return renderLayered(mergeLayers(base, overlay), basePath);
}

/**
 * Reads the one file a spec's `extends:` names, ahead of the synchronous parse: the reader
 * `parseSpec` and `effectiveText` take. Specs without `extends:` read nothing.
 */
export async function readBaseAhead(
  text: string,
  readFile: (path: string) => Promise<string | undefined>,
): Promise<ReadRepoFile> {
  const basePath = basePathOf(looseYamlData(text));
  if (basePath === undefined) return () => undefined;
  const baseText = await readFile(basePath).catch(() => undefined);
  return (path) => (normalizeRepoPath(path) === basePath ? baseText : undefined);
}

/** How many segments of `path` the document has, from the top. */
function depthIn(source: SpecSource, path: FieldPath): number {
  let node: unknown = source.document.contents;
  let depth = 0;
  for (const segment of path) {
    if (!isMap(node) && !isSeq(node)) return depth;
    const next: unknown = node.get(segment, true);
    if (next === undefined) return depth;
    node = next;
    depth += 1;
  }
  return depth;
}

/**
 * An own, enumerable property even for a key like `__proto__`: plain assignment would set the
 * object's prototype instead, and a field hidden there would reach the schema unseen.
 */
function define(target: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
