/** `modelship approve <model> --env <env> --as <name>`: decide the approval step a rollout waits on. */
import { WorkflowNotFoundError, WorkflowUpdateFailedError } from '@temporalio/client';
import { parseApproveInput } from '../../domain/approval.ts';
import { deployModelWorkflowId } from '../../domain/deployment.ts';
import { loadConfig } from '../../worker/config.ts';
import { connectClient } from '../../worker/connection.ts';
import { type ApproveMessage, approveSignal, approveUpdate } from '../../workflows/messages.ts';
import { buildApproval, pendingScope } from '../approval-proof.ts';
import { CliError, type Command, parseCommandArgs } from '../command.ts';

const USAGE = `Usage: modelship approve <model> --env <environment> --as <name> [--key FILE | --oidc-token FILE]
                         [--reject] [--comment TEXT] [--expires 15m] [--print] [--statement FILE] [--signal]

Approves (or with --reject, rejects) the approval step the rollout of <model> to <environment>
is waiting on. The rollout refuses anyone not listed as an approver of the step and, under four
eyes, whoever authored the commit or started the deployment.

Proof of who approves (required in production and wherever the policy names approvers):
  --key FILE          sign a statement naming this run, step, commit and bundle with your
                      private key (\`modelship keygen\`); the policy lists your public key
  --oidc-token FILE   present an ID token of an issuer the policy trusts ("-": standard input);
                      unless the issuer is exempt, its nonce must be the statement's (see --print)
  --expires DURATION  how long the statement stays valid (default 15m, at most 24h)
  --print             print the JSON instead of sending it: with --key, the signed approval to
                      paste into the Web UI's "Send an Update" (name: approve); without a proof,
                      the statement and the nonce to ask your identity provider for
  --statement FILE    use a statement printed earlier (to attach the token obtained for it)

--signal sends a signal instead of an update, for setups that cannot send updates: it is not
answered, and a refusal only shows in the audit log.`;

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
        key: { type: 'string' },
        'oidc-token': { type: 'string' },
        expires: { type: 'string' },
        print: { type: 'boolean' },
        statement: { type: 'string' },
      },
      USAGE,
    );
    const [model, ...extra] = positionals;
    if (!model || extra.length > 0 || typeof values.env !== 'string' || typeof values.as !== 'string') {
      throw new CliError(`name one model, --env and --as\n\n${USAGE}`);
    }
    const keyFile = typeof values.key === 'string' ? values.key : undefined;
    const tokenFile = typeof values['oidc-token'] === 'string' ? values['oidc-token'] : undefined;
    if (keyFile && tokenFile) throw new CliError(`give one proof: --key or --oidc-token\n\n${USAGE}`);
    const decision = values.reject ? 'reject' : 'approve';
    const comment = typeof values.comment === 'string' ? values.comment : undefined;
    const freeText = parseApproveInput({ approver: values.as, decision, ...(comment ? { comment } : {}) });
    if (typeof freeText === 'string') throw new CliError(freeText);
    const wantsStatement = keyFile || tokenFile || values.print || typeof values.statement === 'string';

    const workflowId = deployModelWorkflowId({ model, environment: values.env });
    const client = await connectClient(loadConfig());
    try {
      const handle = client.workflow.getHandle(workflowId);
      let input: ApproveMessage = freeText;
      if (wantsStatement) {
        const built = await buildApproval(await pendingScope(handle), {
          approver: freeText.approver,
          decision,
          comment,
          keyFile,
          tokenFile,
          statementFile: typeof values.statement === 'string' ? values.statement : undefined,
          expires: typeof values.expires === 'string' ? values.expires : undefined,
        });
        if (values.print) {
          console.log(JSON.stringify('signed' in built ? built.signed : built, null, 2));
          return 0;
        }
        if (!('signed' in built))
          throw new CliError('approve: --statement needs a proof: --key or --oidc-token');
        input = built.signed;
      }
      if (values.signal) {
        await handle.signal(approveSignal, input);
        console.log(`approve: signal sent to ${workflowId} (${decision} as ${freeText.approver})`);
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
