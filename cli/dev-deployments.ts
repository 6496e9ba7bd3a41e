/**
 * What `modelship dev` deploys and how: specs of one model and environment one after another, in
 * file-name order, each run followed to its end with its progress printed (`gitops/follow-run.ts`),
 * and background traffic to every model as soon as it serves, so later rollouts have live traffic
 * to be judged on.
 */
import { join } from 'node:path';
import { type Client, WorkflowExecutionAlreadyStartedError, type WorkflowHandle } from '@temporalio/client';
import { isDeployedOutcome } from '../gitops/apply-decision.ts';
import { followRun, lostConnectionLine } from '../gitops/follow-run.ts';
import { startDeployment } from '../gitops/start-deployment.ts';
import { runLoad } from '../serving/loadgen/index.ts';
import type { DeployModel, DeployModelInput } from '../workflows/deploy-model.ts';

const log = (line: string) => console.log(line);

/** Specs grouped by model and environment, each group in file-name order. */
export function groupByDeployment(inputs: DeployModelInput[]): DeployModelInput[][] {
  const groups = new Map<string, DeployModelInput[]>();
  for (const input of inputs) {
    const key = `${input.deployment.model}@${input.deployment.environment}`;
    groups.set(key, [...(groups.get(key) ?? []), input]);
  }
  return [...groups.values()];
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

/** Runs each group's specs one after another, following every run and starting traffic. */
export class DevDeployments {
  constructor(
    private readonly context: {
      client: Client;
      taskQueue: string;
      workflowUrl: (workflowId: string, runId: string) => string;
      traffic: Traffic;
      signal: AbortSignal;
    },
  ) {}

  /** `firstDone`: every group's first spec has finished; `allDone`: every spec has. */
  run(groups: DeployModelInput[][]): { firstDone: Promise<void>; allDone: Promise<void> } {
    const firsts: Promise<void>[] = [];
    const alls: Promise<void>[] = [];
    for (const group of groups) {
      let markFirst = () => {};
      firsts.push(new Promise<void>((resolveFirst) => (markFirst = resolveFirst)));
      const where = `${group[0]?.deployment.model}@${group[0]?.deployment.environment}`;
      alls.push(
        this.runGroup(group, () => markFirst())
          // One deployment going wrong (say, a refused start) leaves the stack up for the others.
          .catch((error: unknown) => console.error(`dev: ${where}: ${(error as Error).message}`))
          .finally(() => markFirst()),
      );
    }
    return { firstDone: Promise.all(firsts).then(() => {}), allDone: Promise.all(alls).then(() => {}) };
  }

  private async runGroup(group: DeployModelInput[], firstFinished: () => void): Promise<void> {
    for (const [index, input] of group.entries()) {
      if (this.context.signal.aborted) return;
      const deployed = await this.deploy(input);
      if (index === 0) firstFinished();
      if (this.context.signal.aborted) return;
      const later = group.slice(index + 1);
      if (!deployed && later.length > 0) {
        const where = `${input.deployment.model}@${input.deployment.environment}`;
        log(
          `dev: ${where} is not deployed, so ${later.map((next) => next.deployment.specPath).join(', ')} not started`,
        );
        return;
      }
    }
  }

  /** Starts (or follows) one spec's run until it closes; whether its version is deployed. */
  private async deploy(input: DeployModelInput): Promise<boolean> {
    const { client, taskQueue, signal } = this.context;
    // dev names its own checkout as the repository: the holdout for traffic is read from there.
    const { model, environment, specPath, repository } = input.deployment;
    const where = `${model}@${environment}`;
    let handle: WorkflowHandle<typeof DeployModel>;
    try {
      handle = await startDeployment(client, taskQueue, input);
      log(`dev: started ${handle.workflowId} for ${specPath}`);
    } catch (error) {
      // A run left over from an earlier session (the database persists) is still going:
      // follow it instead of failing, the worker we just started will pick it up.
      if (!(error instanceof WorkflowExecutionAlreadyStartedError)) throw error;
      log(`dev: ${error.workflowId} is already running; following it`);
      handle = client.workflow.getHandle<typeof DeployModel>(error.workflowId);
    }
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
    if (deployed) this.context.traffic.send(model, join(repository, input.spec.spec.validation.holdout.path));
    return deployed;
  }
}
