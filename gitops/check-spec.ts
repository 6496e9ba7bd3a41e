/**
 * One spec judged at one commit, as `plan` and `apply` both need it: the parse pipeline (schema
 * and rules, with file existence asked of the commit's tree, not the working tree) followed by
 * the ship gates (`offline-checks.ts`).
 */
import { isAbsolute } from 'node:path';
import { type LayeredSource, readBaseAhead } from '../specs/overlay.ts';
import { parseSpec, type SpecError } from '../specs/parse.ts';
import type { ModelDeployment } from '../specs/schema.ts';
import type { GateReport } from '../supply-chain/gates/evaluate.ts';
import type { LoadedPolicy } from '../supply-chain/policy/load.ts';
import type { CommitReader } from './git.ts';
import { type OfflineCheck, type ShipGatesAt, shipGatesAt } from './offline-checks.ts';

/** A spec that passed everything, or what it failed. */
export type CheckedSpec =
  | {
      ok: true;
      spec: ModelDeployment;
      source: LayeredSource;
      /** The effective spec's text (merged over its base, when it has one): what is deployed. */
      text: string;
      checks: OfflineCheck[];
      gates: GateReport;
      policy: LoadedPolicy;
    }
  | {
      ok: false;
      /** Schema and rule errors; empty when only an offline check failed. */
      errors: SpecError[];
      checks: OfflineCheck[];
      /** Present when the spec parsed (so the plan can still say what it is about). */
      spec?: ModelDeployment;
      source?: LayeredSource;
      text?: string;
      /** The ship gates' report and the policy they judged by, when the spec parsed. */
      gates?: GateReport;
      policy?: LoadedPolicy;
    };

/**
 * Parses `text` (the spec at `path`) against the tree of `commit`, then judges the ship gates
 * (`gates` shares policies and the author across the specs of one plan). `ok` means the parse
 * and every gate but the policy passed; the policy's verdicts, with positions, are the caller's.
 */
export async function checkSpecAtCommit(
  reader: CommitReader,
  commit: string,
  path: string,
  text: string,
  gates: ShipGatesAt = shipGatesAt(reader, commit),
): Promise<CheckedSpec> {
  const tree = await reader.files(commit);
  // An absolute path (a file:// model) lives on the worker's machine: no commit can answer
  // for it, so it is taken as present here and the worker checks it.
  const readFile = await readBaseAhead(text, async (file) =>
    tree.has(file) ? reader.readText(commit, file) : undefined,
  );
  const parsed = parseSpec(text, {
    file: path,
    fileExists: (file) => isAbsolute(file) || tree.has(file),
    readFile,
  });
  if (!parsed.ok) return { ok: false, errors: parsed.errors, checks: [] };
  const { checks, report, policy } = await gates.judge({ spec: parsed.spec, text: parsed.text, path });
  const judged = {
    spec: parsed.spec,
    source: parsed.source,
    text: parsed.text,
    checks,
    gates: report,
    policy,
  };
  if (checks.some((check) => check.status === 'failed')) return { ok: false, errors: [], ...judged };
  return { ok: true, ...judged };
}
