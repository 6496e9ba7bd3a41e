/** `modelship approve <model> --env <env> --as <name>`: decide the approval step a rollout waits on. */
import { WorkflowNotFoundError, WorkflowUpdateFailedError } from '@temporalio/client';
import { parseApproveInput } from '../../domain/approval.ts';
import { deployModelWorkflowId } from '../../domain/deployment.ts';
import { loadConfig } from '../../worker/config.ts';
import { connectClient } from '../../worker/connection.ts';
import { approveSignal, approveUpdate } from '../../workflows/messages.ts';
import { CliError, type Command, parseCommandArgs } from '../command.ts';

const USAGE = `Usage: modelship approve <model> --env <environment> --as <name> [--reject] [--comment TEXT] [--signal]

Approves (or with --reject, rejects) the approval step the rollout of <model> to <environment>
is waiting on. The rollout refuses anyone not listed as an approver of the step and, in
production, the author of the commit being rolled out. --signal sends a signal instead of an
update, for setups that cannot send updates: it is not answered, and a refusal only shows in
the audit log.`;

export const command: Command = {
  async run(argv) {
    const { values, positionals } = parseCommandArgs(
      argv,
      {
        env: { type: 'string' },
        as: { type: 'string' },
        reject: { type: 'boolean' },
        comment: { type: 'string' },
        signal: { type: 'boolean' },
      },
      USAGE,
    );
    const [model, ...extra] = positionals;
    if (!model || extra.length > 0 || typeof values.env !== 'string' || typeof values.as !== 'string') {
      throw new CliError(`name one model, --env and --as\n\n${USAGE}`);
    }
    const input = parseApproveInput({
      approver: values.as,
      decision: values.reject ? 'reject' : 'approve',
      ...(typeof values.comment === 'string' ? { comment: values.comment } : {}),
    });
    if (typeof input === 'string') throw new CliError(input);
    const workflowId = deployModelWorkflowId({ model, environment: values.env });
    const client = await connectClient(loadConfig());
    try {
      const handle = client.workflow.getHandle(workflowId);
      if (values.signal) {
        await handle.signal(approveSignal, input);
        console.log(`approve: signal sent to ${workflowId} (${input.decision} as ${input.approver})`);
        return 0;
      }
      const receipt = await handle.executeUpdate(approveUpdate, { args: [input] });
      const verb = receipt.decision === 'approve' ? 'approved' : 'rejected';
      console.log(`approve: ${workflowId} step ${receipt.stepIndex + 1} ${verb} by ${receipt.approver}`);
      return 0;
    } catch (error) {
      if (error instanceof WorkflowUpdateFailedError) {
        throw new CliError(`approve: refused: ${error.cause?.message ?? error.message}`, 1);
      }
      if (error instanceof WorkflowNotFoundError) {
        throw new CliError(`approve: no rollout of ${model} to ${values.env} is running (${workflowId})`, 1);
      }
      throw error;
    } finally {
      await client.connection.close();
    }
  },
};
