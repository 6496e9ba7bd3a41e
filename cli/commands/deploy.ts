/** `modelship deploy <spec…>`: start DeployModel for specs in the working tree and wait for the results. */
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import { followRun, lostConnectionLine } from '../../gitops/follow-run.ts';
import { originTokenFrom } from '../../gitops/origin-token.ts';
import { checkedRepositoryUrl, withoutCredentials } from '../../gitops/repository-url.ts';
import { startDeployment } from '../../gitops/start-deployment.ts';
import { loadConfig } from '../../worker/config.ts';
import { connectClient } from '../../worker/connection.ts';
import { CliError, type Command, parseCommandArgs } from '../command.ts';
import { loadDeploymentInput } from '../start-deployment.ts';

const USAGE = `Usage: modelship deploy <spec.yaml…> [--repository URL] [--no-wait]

Starts one DeployModel workflow per spec on the Temporal server at $TEMPORAL_ADDRESS
(default localhost:7233, as started by \`npm start\`) and waits for each result. The spec
must be committed: workers fetch the commit themselves, from --repository URL, else
$MODELSHIP_REPOSITORY_URL, else this checkout by its path (a worker on this machine).
Exit code 0 when every deployment reached the data plane, 1 when any was rejected.`;

export const command: Command = {
  async run(argv) {
    const { values, positionals } = parseCommandArgs(
      argv,
      { 'no-wait': { type: 'boolean' }, repository: { type: 'string' } },
      USAGE,
    );
    if (positionals.length === 0) throw new CliError(`no spec files given\n\n${USAGE}`);
    const config = loadConfig();
    const inputs = [];
    const originToken = await originTokenFrom(process.env);
    const configured = process.env.MODELSHIP_REPOSITORY_URL?.trim();
    const repository =
      typeof values.repository === 'string'
        ? checkedRepositoryUrl(values.repository.trim(), '--repository')
        : configured
          ? checkedRepositoryUrl(configured, 'MODELSHIP_REPOSITORY_URL')
          : undefined;
    for (const file of positionals) {
      const input = await loadDeploymentInput(file, repository);
      inputs.push(originToken ? { ...input, originToken } : input);
    }
    const client = await connectClient(config);
    let rejected = 0;
    try {
      for (const input of inputs) {
        let handle: Awaited<ReturnType<typeof startDeployment>>;
        try {
          handle = await startDeployment(client, config.taskQueue, input);
        } catch (error) {
          if (error instanceof WorkflowExecutionAlreadyStartedError) {
            throw new CliError(
              `a rollout of ${input.deployment.model} to ${input.deployment.environment} is already running (${error.workflowId})`,
              1,
            );
          }
          throw error;
        }
        console.log(
          `deploy: started ${handle.workflowId} (workers fetch ${input.deployment.commit.slice(0, 12)} from ${withoutCredentials(input.deployment.repository)})`,
        );
        if (values['no-wait']) continue;
        const where = `${input.deployment.model}@${input.deployment.environment}`;
        // Stages, verdicts and who must approve while it runs, rather than minutes of silence.
        const end = await followRun({ handle, where: `deploy: ${where}`, say: (line) => console.log(line) });
        if (end.kind !== 'closed') {
          if (end.kind === 'lost') console.error(lostConnectionLine('deploy', where, handle.workflowId, end));
          return 1;
        }
        const result = await end.result;
        console.log(`deploy: ${result.outcome}: ${result.summary}`);
        if (result.outcome === 'rejected') rejected += 1;
      }
    } finally {
      await client.connection.close();
    }
    return rejected > 0 ? 1 : 0;
  },
};
