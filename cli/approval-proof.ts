/**
 * What `modelship approve` sends: free text, or a statement for the step the rollout waits on
 * with its proof (a signature by `--key`, or an OIDC token by `--oidc-token`). The scope comes
 * from the running workflow itself (its run id, and the step, commit and bundle its `status`
 * query reports), so an approver signs exactly what is waiting.
 */
import { readFile } from 'node:fs/promises';
import type { WorkflowHandle } from '@temporalio/client';
import type { ApprovalScope, ApprovalStatement, SignedApproval } from '../domain/approval-statement.ts';
import { parseSignedApproval } from '../domain/approval-statement.ts';
import { parseDeployModelWorkflowId } from '../domain/deployment.ts';
import { parseDuration } from '../specs/duration.ts';
import { newApprovalStatement, signApproval, tokenNonceFor } from '../supply-chain/identity/sign-approval.ts';
import { statusQuery } from '../workflows/messages.ts';
import { CliError } from './command.ts';

export interface ProofOptions {
  approver: string;
  decision: 'approve' | 'reject';
  comment?: string | undefined;
  /** Path of the approver's PEM private key. */
  keyFile?: string | undefined;
  /** Path of a file holding an OIDC ID token (`-`: standard input). */
  tokenFile?: string | undefined;
  /** A statement printed earlier (`--print` without a proof), to attach a token to. */
  statementFile?: string | undefined;
  /** How long the statement stays valid, e.g. `15m`. */
  expires?: string | undefined;
}

/** The approval scope of the step `handle`'s current run waits on; a clear error when none is waiting. */
export async function pendingScope(handle: WorkflowHandle): Promise<ApprovalScope> {
  const [description, status] = await Promise.all([handle.describe(), handle.query(statusQuery)]);
  const key = parseDeployModelWorkflowId(handle.workflowId);
  if (!key) throw new CliError(`approve: ${handle.workflowId} is not a deployment`, 1);
  if (!status.waitingFor) {
    throw new CliError(
      `approve: ${handle.workflowId} is not waiting for an approval (stage: ${status.stage})`,
      1,
    );
  }
  if (!status.bundle) throw new CliError(`approve: ${handle.workflowId} has no bundle yet to approve`, 1);
  return {
    workflowId: handle.workflowId,
    runId: description.runId,
    step: status.waitingFor.stepIndex + 1,
    model: key.model,
    environment: key.environment,
    commit: status.commit,
    bundleDigest: status.bundle.digest,
  };
}

async function readText(path: string, what: string): Promise<string> {
  try {
    if (path === '-') {
      const chunks: Buffer[] = [];
      for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
      return Buffer.concat(chunks).toString('utf8').trim();
    }
    return (await readFile(path, 'utf8')).trim();
  } catch (error) {
    throw new CliError(`approve: cannot read ${what} ${path}: ${(error as Error).message}`);
  }
}

async function statementFromFile(path: string): Promise<ApprovalStatement> {
  const text = await readText(path, 'the statement');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new CliError(`approve: ${path} is not JSON: expected what \`modelship approve --print\` printed`);
  }
  const record = (value ?? {}) as Record<string, unknown>;
  const statement = 'statement' in record ? record.statement : record;
  const parsed = parseSignedApproval({ statement, proof: { type: 'signature', signature: 'AA' } });
  if (typeof parsed === 'string') throw new CliError(`approve: ${path}: ${parsed}`);
  return parsed.statement;
}

/**
 * The statement for `scope` with its proof, or (no proof asked for) the bare statement and the
 * nonce an OIDC token must carry for it.
 */
export async function buildApproval(
  scope: ApprovalScope,
  options: ProofOptions,
): Promise<{ signed: SignedApproval } | { statement: ApprovalStatement; nonce: string }> {
  let lifetimeMs: number | undefined;
  if (options.expires !== undefined) {
    try {
      lifetimeMs = parseDuration(options.expires as Parameters<typeof parseDuration>[0]);
    } catch {
      throw new CliError(`approve: --expires "${options.expires}": expected a duration such as 15m or 2h`);
    }
  }
  const statement = options.statementFile
    ? await statementFromFile(options.statementFile)
    : newApprovalStatement({
        scope,
        approver: options.approver,
        decision: options.decision,
        comment: options.comment,
        now: new Date(),
        ...(lifetimeMs === undefined ? {} : { lifetimeMs }),
      });
  if (options.keyFile) {
    const pem = await readText(options.keyFile, 'the private key');
    try {
      return {
        signed: {
          statement,
          proof: { type: 'signature', signature: signApproval(statement, pem, options.keyFile) },
        },
      };
    } catch (error) {
      throw new CliError(`approve: --key ${options.keyFile}: ${(error as Error).message}`);
    }
  }
  if (options.tokenFile) {
    const token = await readText(options.tokenFile, 'the OIDC token');
    return { signed: { statement, proof: { type: 'oidc', token } } };
  }
  return { statement, nonce: tokenNonceFor(statement) };
}
