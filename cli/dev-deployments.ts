/**
 * What `modelship dev` deploys and how: specs of one model and environment one after another, in
 * file-name order, each committed to the dev repository and applied (`dev-repository.ts`,
 * `gitops/apply.ts`), each run followed to its end with its progress printed
 * (`gitops/follow-run.ts`), and background traffic to every model as soon as it serves, so later
 * rollouts have live traffic to be judged on.
 */
import { readFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import type { Client } from '@temporalio/client';
import { simpleGit } from 'simple-git';
import { deployModelWorkflowId } from '../domain/deployment.ts';
import { shortId } from '../domain/short-id.ts';
import { applyChanges } from '../gitops/apply.ts';
import { isDeployedOutcome } from '../gitops/apply-decision.ts';
import { followRun, lostConnectionLine } from '../gitops/follow-run.ts';
import { CommitReader, NULL_SHA } from '../gitops/git.ts';
import { specReferences } from '../gitops/spec-fields.ts';
import { runLoad } from '../serving/loadgen/index.ts';
import { formatSpecError, parseSpec } from '../specs/parse.ts';
import { repoFileExists, repoFileReader } from '../specs/parse-file.ts';
import { PROJECT_ROOT } from '../worker/temporal-cli.ts';
import type { DeployModel } from '../workflows/deploy-model.ts';
import { CliError } from './command.ts';
import { DevRepository, type DevSpec } from './dev-repository.ts';

const log = (line: string) => console.log(line);

/** Specs grouped by model and environment, each group in file-name order. */
export function groupByDeployment(specs: DevSpec[]): DevSpec[][] {
  const groups = new Map<string, DevSpec[]>();
  for (const spec of specs) {
    const key = `${spec.model}@${spec.environment}`;
    groups.set(key, [...(groups.get(key) ?? []), spec]);
  }
  return [...groups.values()];
}

/**
 * Reads and checks a spec of `specs/dev`; throws a CliError listing every spec error. Paths in
 * it are read from the checkout that holds it (the project, for the shipped specs).
 */
export async function loadDevSpec(file: string): Promise<DevSpec> {
  const specText = await readFile(file, 'utf8').catch((error: Error) => {
    throw new CliError(`cannot read ${file}: ${error.message}`);
  });
  const sourceRoot = await simpleGit(dirname(resolve(file)))
    .revparse(['--show-toplevel'])
    .then((root) => root.trim())
    .catch(() => PROJECT_ROOT);
  const parsed = parseSpec(specText, {
    file,
    fileExists: repoFileExists(sourceRoot),
    readFile: repoFileReader(sourceRoot),
  });
  if (!parsed.ok) throw new CliError(parsed.errors.map(formatSpecError).join('\n'), 1);
  const references = specReferences(parsed.text);
  return {
    file,
    specText: parsed.text,
    model: parsed.spec.metadata.name,
    environment: parsed.spec.spec.rollout.environment,
    references: [references.model, references.holdout].filter((path): path is string => path !== undefined),
    sourceRoot,
  };
}

/** Background traffic: holdout rows at a steady rate, to every model that serves. */
export class Traffic {
  private readonly controller = new AbortController();
  private readonly loads = new Map<string, Promise<unknown>>();

  constructor(
    private readonly url: string,
    private readonly ratePerS: number,
  ) {}

  /** Starts sending to `model` unless it already gets traffic. */
  send(model: string, holdout: string): void {
    if (this.loads.has(model) || this.controller.signal.aborted) return;
    log(`dev: sending ${this.ratePerS} req/s of holdout rows to ${model}`);
    const load = runLoad(
      {
        url: this.url,
        model,
        holdout,
        mode: { kind: 'rate', ratePerS: this.ratePerS },
        durationMs: 7 * 24 * 3_600_000,
        preflight: false,
      },
      { signal: this.controller.signal },
    ).catch((error: unknown) =>
      console.error(`dev: traffic to ${model} stopped: ${(error as Error).message}`),
    );
    this.loads.set(model, load);
  }

  async stop(): Promise<void> {
    this.controller.abort();
    await Promise.all(this.loads.values());
  }
}

/**
 * Runs each group's specs one after another, each as a commit to the dev repository and an
 * `apply` of it, following every run it starts and starting traffic to what serves.
 */
export class DevDeployments {
  // Commits and applies go one at a time: groups share the repository's one branch.
  private turn: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly context: {
      client: Client;
      taskQueue: string;
      repository: DevRepository;
      workflowUrl: (workflowId: string, runId: string) => string;
      traffic: Traffic;
      signal: AbortSignal;
    },
  ) {}

  /** `firstDone`: every group's first spec has finished; `allDone`: every spec has. */
  run(groups: DevSpec[][]): { firstDone: Promise<void>; allDone: Promise<void> } {
    const firsts: Promise<void>[] = [];
    const alls: Promise<void>[] = [];
    for (const group of groups) {
      let markFirst = () => {};
      firsts.push(new Promise<void>((resolveFirst) => (markFirst = resolveFirst)));
      const where = `${group[0]?.model}@${group[0]?.environment}`;
      alls.push(
        this.runGroup(group, () => markFirst())
          // One deployment going wrong (say, a refused start) leaves the stack up for the others.
          .catch((error: unknown) => console.error(`dev: ${where}: ${(error as Error).message}`))
          .finally(() => markFirst()),
      );
    }
    return { firstDone: Promise.all(firsts).then(() => {}), allDone: Promise.all(alls).then(() => {}) };
  }

  private async runGroup(group: DevSpec[], firstFinished: () => void): Promise<void> {
    for (const [index, spec] of group.entries()) {
      if (this.context.signal.aborted) return;
      const deployed = await this.deploy(spec);
      if (index === 0) firstFinished();
      if (this.context.signal.aborted) return;
      const later = group.slice(index + 1);
      if (!deployed && later.length > 0) {
        log(
          `dev: ${spec.model}@${spec.environment} is not deployed, so ${later.map((next) => next.file).join(', ')} not started`,
        );
        return;
      }
    }
  }

  private inTurn<T>(step: () => Promise<T>): Promise<T> {
    const result = this.turn.then(step);
    this.turn = result.catch(() => {});
    return result;
  }

  /** Commits one spec, applies the head, and follows the run apply started; whether its version is deployed. */
  private async deploy(spec: DevSpec): Promise<boolean> {
    const { client, taskQueue, signal, repository } = this.context;
    const where = `${spec.model}@${spec.environment}`;
    const workflowId = deployModelWorkflowId(spec);
    const report = await this.inTurn(async () => {
      const head = await repository.commitSpec(spec);
      log(
        `dev: ${where}: ${basename(spec.file)} committed to ${repository.dir} as ${DevRepository.specPath(spec)} (${shortId(head)}); applying`,
      );
      return applyChanges({
        reader: await CommitReader.open(repository.dir),
        repository: repository.dir,
        base: NULL_SHA,
        head,
        specsDir: 'specs',
        connect: async () => client,
        taskQueue,
        wait: false,
        // Only this deployment's lines: the others at head are someone else's turn.
        out: (line) => line.includes(`${where}:`) && log(`dev: ${line}`),
        err: (line) => console.error(`dev: ${line}`),
      });
    });
    const decision = report.decisions.find((entry) => entry.workflowId === workflowId)?.decision;
    if (decision === undefined || decision.action === 'refuse') return false;
    const holdout = join(repository.dir, spec.references.find((path) => path.endsWith('.csv')) ?? '');
    if (decision.action === 'none' && decision.why !== 'rolling-out') {
      this.context.traffic.send(spec.model, holdout);
      return true;
    }
    const handle = client.workflow.getHandle<typeof DeployModel>(workflowId);
    const runId = (await handle.describe()).runId;
    const say = (line: string) => {
      log(line);
      if (/waiting until .* for an approval/.test(line)) {
        log(`dev: ${where}:   open ${this.context.workflowUrl(handle.workflowId, runId)}`);
      }
    };
    const end = await followRun({ handle, where: `dev: ${where}`, say, signal });
    if (end.kind === 'stopped') return false;
    if (end.kind === 'lost') {
      console.error(lostConnectionLine('dev', where, handle.workflowId, end));
      return false;
    }
    const result = await end.result.catch((error: Error) => {
      console.error(`dev: ${handle.workflowId} failed: ${error.message}`);
      return undefined;
    });
    if (!result) return false;
    log(`dev: ${result.outcome}: ${result.summary}`);
    const deployed = isDeployedOutcome(result.outcome);
    if (deployed) this.context.traffic.send(spec.model, holdout);
    return deployed;
  }
}
