/** `modelship quarantine list|lift`: artifacts held back after an automatic rollback, and letting one go. */
import { userInfo } from 'node:os';
import { AuditStoreError, AuditStoreNotFoundError } from '../../audit/store.ts';
import { QUARANTINE_LIFTED, quarantines } from '../../release/quarantine.ts';
import { UntrustedAuditLogError, verifiedRecordsOf } from '../../release/verified-records.ts';
import { AUDIT_READER_OPTIONS, withAuditReader } from '../audit-reader.ts';
import { CliError, type Command, parseCommandArgs } from '../command.ts';

const USAGE = `Usage: modelship quarantine <command> <model> [options]

A model artifact rolled back automatically (a failed canary verdict, or its monitor finding live
accuracy below the floor) is quarantined for that model: DeployModel, and so apply, reconcile
and promote, refuse it until the quarantine is lifted.

Commands:
  list <model> [--json]
      Quarantines in force, then those lifted (who, when, why).
  lift <model> <sha256> --reason TEXT [--by NAME]
      Lift the quarantine of one artifact, recorded in the audit log (quarantine.lifted) with
      the reason and who lifted it (--by, default the user running the command).

Options:
  --home DIR, --url URL   the audit log (as for \`modelship audit\`)`;

export const command: Command = {
  async run(argv) {
    const [name, ...rest] = argv;
    if (name === undefined || name === '--help' || name === '-h') {
      console.log(USAGE);
      return name === undefined ? 2 : 0;
    }
    const { values, positionals } = parseCommandArgs(
      rest,
      {
        ...AUDIT_READER_OPTIONS,
        json: { type: 'boolean' },
        reason: { type: 'string' },
        by: { type: 'string' },
      },
      USAGE,
    );
    try {
      switch (name) {
        case 'list':
          return await list(values, positionals);
        case 'lift':
          return await lift(values, positionals);
        default:
          throw new CliError(`quarantine: unknown command "${name}"\n\n${USAGE}`);
      }
    } catch (error) {
      if (
        error instanceof UntrustedAuditLogError ||
        error instanceof AuditStoreNotFoundError ||
        error instanceof AuditStoreError
      ) {
        throw new CliError(`quarantine ${name}: ${error.message}`, 1);
      }
      throw error;
    }
  },
};

type Values = Record<string, string | boolean | string[] | boolean[] | undefined>;

async function list(values: Values, positionals: string[]): Promise<number> {
  const [model, ...extra] = positionals;
  if (model === undefined || extra.length > 0)
    throw new CliError(`quarantine list: name one model\n\n${USAGE}`);
  const found = await withAuditReader(values, 'quarantine list', async (store) =>
    quarantines(await verifiedRecordsOf(store, model), model),
  );
  if (values.json) {
    console.log(JSON.stringify(found, null, 2));
    return 0;
  }
  if (found.inForce.length === 0) console.log(`${model}: no artifact is quarantined`);
  for (const q of found.inForce) {
    console.log(
      `QUARANTINED sha256:${q.artifactSha256}  rolled back by its ${q.by} in ${q.environment} at ${q.at}: ${q.reason}`,
    );
  }
  for (const q of found.lifted) {
    console.log(
      `lifted      sha256:${q.artifactSha256}  by ${q.lifted.by} at ${q.lifted.at}: ${q.lifted.reason} (rolled back in ${q.environment} at ${q.at})`,
    );
  }
  return 0;
}

async function lift(values: Values, positionals: string[]): Promise<number> {
  const [model, sha256, ...extra] = positionals;
  if (model === undefined || sha256 === undefined || extra.length > 0) {
    throw new CliError(`quarantine lift: name the model and the artifact's sha256\n\n${USAGE}`);
  }
  const reason = typeof values.reason === 'string' ? values.reason.trim() : '';
  if (reason.length < 10) {
    throw new CliError('quarantine lift: --reason must say why, in at least 10 characters');
  }
  const by = typeof values.by === 'string' && values.by.trim() ? values.by.trim() : userInfo().username;
  await withAuditReader(values, 'quarantine lift', async (store) => {
    const { inForce } = quarantines(await verifiedRecordsOf(store, model), model);
    const quarantine = inForce.find((q) => q.artifactSha256 === sha256);
    if (!quarantine) {
      const held = inForce.map((q) => `sha256:${q.artifactSha256}`).join(', ') || 'none';
      throw new CliError(
        `quarantine lift: ${model} sha256:${sha256} is not quarantined (in force: ${held})`,
        1,
      );
    }
    await store.append({
      time: new Date().toISOString(),
      kind: 'workflow.decision',
      model,
      environment: quarantine.environment,
      commit: 'none',
      workflowId: `quarantine/${model}`,
      runId: 'cli',
      step: QUARANTINE_LIFTED,
      actor: by,
      details: { artifactSha256: sha256, reason, rolledBackAt: quarantine.at, by: quarantine.by },
    });
    console.log(
      `quarantine lift: ${model} sha256:${sha256.slice(0, 12)} may be deployed again (lifted by ${by}: ${reason})`,
    );
  });
  return 0;
}
