/**
 * One spec judged at one commit, as `plan` and `apply` both need it: the parse pipeline (schema
 * and rules, with file existence asked of the commit's tree, not the working tree) followed by
 * the offline checks of its model.
 */
import { isAbsolute } from 'node:path';
import { parseSpec, type SpecError } from '../specs/parse.ts';
import type { ModelDeployment } from '../specs/schema.ts';
import type { SpecSource } from '../specs/yaml-source.ts';
import type { CommitReader } from './git.ts';
import { type OfflineCheck, runOfflineChecks } from './offline-checks.ts';

/** A spec that passed everything, or what it failed. */
export type CheckedSpec =
  | { ok: true; spec: ModelDeployment; source: SpecSource; checks: OfflineCheck[] }
  | {
      ok: false;
      /** Schema and rule errors; empty when only an offline check failed. */
      errors: SpecError[];
      checks: OfflineCheck[];
      /** Present when the spec parsed (so the plan can still say what it is about). */
      spec?: ModelDeployment;
      source?: SpecSource;
    };

/** Parses `text` (the spec at `path`) against the tree of `commit`, then runs the offline checks. */
export async function checkSpecAtCommit(
  reader: CommitReader,
  commit: string,
  path: string,
  text: string,
): Promise<CheckedSpec> {
  const tree = await reader.files(commit);
  // An absolute path (a file:// model) lives on the worker's machine: no commit can answer
  // for it, so it is taken as present here and the worker checks it.
  const parsed = parseSpec(text, { file: path, fileExists: (file) => isAbsolute(file) || tree.has(file) });
  if (!parsed.ok) return { ok: false, errors: parsed.errors, checks: [] };
  const checks = await runOfflineChecks(reader, commit, parsed.spec);
  if (checks.some((check) => check.status === 'failed')) {
    return { ok: false, errors: [], checks, spec: parsed.spec, source: parsed.source };
  }
  return { ok: true, spec: parsed.spec, source: parsed.source, checks };
}
