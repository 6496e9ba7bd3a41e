/**
 * The ship gates (`supply-chain/gates/evaluate.ts`) at a commit, for `plan` and `apply`: the very
 * evaluation the workflow's activities run after merge, fed the policy, the keys and the model
 * directory as committed at head instead of a checkout. A pull request learns here everything the
 * worker would refuse before onnxruntime runs: the pinned digest, the structure scan under the
 * policy's limits, secrets, signatures and the policy's rules on the declared spec.
 */
import { normalizeRepoPath } from '../specs/locations.ts';
import type { ModelDeployment } from '../specs/schema.ts';
import { evaluateShipGates, type GateReport, type GateVerdict } from '../supply-chain/gates/evaluate.ts';
import { type LoadedPolicy, loadPolicy } from '../supply-chain/policy/load.ts';
import { commitModelFiles } from './commit-model-files.ts';
import type { CommitReader } from './git.ts';

/**
 * One gate's outcome as the plan lists it (the policy gate has its own block, with positions);
 * `skipped` says why it could not run (e.g. an https:// model).
 */
export interface OfflineCheck {
  name: Exclude<GateVerdict['gate'], 'policy'>;
  status: GateVerdict['status'];
  /** One line for people. */
  detail: string;
  /** Error findings, one line each, as the workflow's refusal lists them. */
  findings?: string[];
}

/** What the gates said about one spec at one commit. */
export interface GatesAtCommit {
  checks: OfflineCheck[];
  report: GateReport;
  policy: LoadedPolicy;
}

/** A spec as committed: parsed, its text, its repository path. */
export interface CommittedSpec {
  spec: ModelDeployment;
  text: string;
  path: string;
}

/**
 * Judges specs at `commit`: each environment's policy is read once, the commit's author (for
 * four eyes) once.
 */
export function shipGatesAt(reader: CommitReader, commit: string) {
  const policies = new Map<string, Promise<LoadedPolicy>>();
  const files = {
    async readFile(path: string) {
      return (await reader.files(commit)).has(path) ? reader.readText(commit, path) : undefined;
    },
  };
  let author: Promise<{ name: string; email: string }> | undefined;
  return {
    async judge(committed: CommittedSpec): Promise<GatesAtCommit> {
      const { spec } = committed;
      const { environment } = spec.spec.rollout;
      let policy = policies.get(environment);
      if (policy === undefined) {
        policy = loadPolicy(files, environment);
        policies.set(environment, policy);
      }
      author ??= reader.author(commit);
      // `./models/x.onnx` would be read relative to the current directory by `git show`.
      const source = normalizeRepoPath(spec.spec.model.source) ?? spec.spec.model.source;
      const inRepository = !/^[a-z][a-z0-9+.-]*:/i.test(source);
      const loaded = await policy;
      const report = await evaluateShipGates({
        spec: committed,
        policy: loaded,
        // The spec rules already found a repository path in the commit's tree.
        files: inRepository ? commitModelFiles(reader, commit, source) : null,
        source,
        expectedSha256: spec.spec.model.sha256,
        commitAuthor: await author,
      });
      const checks = report.gates
        .filter((verdict) => verdict.gate !== 'policy')
        .map(
          ({ gate, status, detail, findings }): OfflineCheck => ({
            name: gate as OfflineCheck['name'],
            status,
            detail,
            ...(findings.length > 0 ? { findings } : {}),
          }),
        );
      return { checks, report, policy: loaded };
    },
  };
}

/** The gates' judge at one commit. */
export type ShipGatesAt = ReturnType<typeof shipGatesAt>;
