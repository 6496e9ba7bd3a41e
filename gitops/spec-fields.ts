/**
 * What a spec's YAML says, read loosely: whether it is a spec at all, which deployment it is and
 * which files it points at. Loosely, because these questions are asked of invalid specs too (a
 * spec with a typo is still a spec, and its removal still retires something).
 */
import { isMap, isScalar, parseDocument } from 'yaml';
import type { DeploymentKey } from '../domain/deployment.ts';
import { normalizeRepoPath } from '../specs/locations.ts';
import { basePathOf, effectiveText, readBaseAhead } from '../specs/overlay.ts';
import { looseYamlData } from '../specs/yaml-source.ts';
import type { CommitReader } from './git.ts';

/** The text when it declares `kind: ModelDeployment`, else undefined. */
export function specText(text: string | undefined): string | undefined {
  return text !== undefined && declaresModelDeployment(text) ? text : undefined;
}

const KIND_LINE = /^kind:[ \t]*(["']?)ModelDeployment\1[ \t]*(#.*)?$/m;

/**
 * Whether YAML text declares `kind: ModelDeployment` at its top level. Text too broken to parse
 * still counts when a top-level `kind:` line says so: a spec with a syntax error must be reported
 * as invalid, not skipped as "not a spec".
 */
export function declaresModelDeployment(text: string): boolean {
  try {
    const document = parseDocument(text, { prettyErrors: false });
    if (document.errors.length === 0 && isMap(document.contents)) {
      const kind: unknown = document.contents.get('kind', true);
      return isScalar(kind) && kind.value === 'ModelDeployment';
    }
  } catch {
    // Fall through to the line check below.
  }
  return KIND_LINE.test(text);
}

/**
 * The repository files a spec points at (model source and holdout), read loosely from the YAML:
 * the spec may be invalid, and an invalid spec whose model changed is still worth reporting.
 * URIs point outside the repository and are left out.
 */
export function specReferences(text: string): { model?: string; holdout?: string; base?: string } {
  const data = looseYamlData(text);
  const model = repoPathOf(at(data, ['spec', 'model', 'source']));
  const holdout = repoPathOf(at(data, ['spec', 'validation', 'holdout', 'path']));
  const base = basePathOf(data);
  return {
    ...(model !== undefined ? { model } : {}),
    ...(holdout !== undefined ? { holdout } : {}),
    ...(base !== undefined ? { base } : {}),
  };
}

/**
 * The effective text of a spec at `commit`: merged over the base it `extends` (read from the
 * same commit), or the text itself. Which deployment a spec is, and its digest, are asked of this
 * text: a spec over a base may name its model only in the base.
 */
export async function effectiveTextAt(reader: CommitReader, commit: string, text: string): Promise<string> {
  const files = await reader.files(commit);
  const read = await readBaseAhead(text, async (path) =>
    files.has(path) ? reader.readText(commit, path) : undefined,
  );
  return effectiveText(text, read);
}

/** `metadata.name` and `spec.rollout.environment`, when the YAML has both as strings. */
export function specIdentity(text: string): DeploymentKey | undefined {
  const data = looseYamlData(text);
  const model = at(data, ['metadata', 'name']);
  const environment = at(data, ['spec', 'rollout', 'environment']);
  return typeof model === 'string' && typeof environment === 'string' ? { model, environment } : undefined;
}

function at(data: unknown, path: string[]): unknown {
  let node = data;
  for (const key of path) {
    if (typeof node !== 'object' || node === null) return undefined;
    node = (node as Record<string, unknown>)[key];
  }
  return node;
}

function repoPathOf(value: unknown): string | undefined {
  if (typeof value !== 'string' || /^[a-z][a-z0-9+.-]*:/i.test(value)) return undefined;
  const normalized = normalizeRepoPath(value);
  return normalized === '' ? undefined : normalized;
}
