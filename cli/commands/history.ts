/** `modelship history <model> --env <environment>`: what served when, read from the audit log. */
import type { ServingHistory } from '../../audit/history-document.ts';
import { foldServingHistory, type HistoryKey, periodsSince } from '../../audit/serving-history.ts';
import { type AuditStore, AuditStoreError, AuditStoreNotFoundError } from '../../audit/store.ts';
import { deploymentLabel } from '../../domain/deployment.ts';
import { parseDuration } from '../../specs/duration.ts';
import { AUDIT_READER_OPTIONS, withAuditReader } from '../audit-reader.ts';
import { CliError, type Command, parseCommandArgs } from '../command.ts';
import { formatHistory } from '../history-text.ts';

const USAGE = `Usage: modelship history <model> --env <environment> [--since TIME] [--json]

Every version of <model> that served traffic in <environment>, newest first, from the audit
log: from when to when, its traffic share (the canary weights its rollout set, with when), how
it came in and how it ended (replaced by a promotion, rolled back in its canary or by the
monitor, retired), the outcome of the rollout that brought it in and who approved it.
Candidates rolled back during their canary served a share for a while: they are listed as
canary-only, with their largest share.

Options:
  --env ENV     the environment (required)
  --since TIME  only versions that served at or after TIME: an ISO 8601 date or time
                (2026-05-01, 2026-05-01T12:00:00Z) or a duration back from now (12h, 7d)
  --json        the history as JSON (schemaVersion 1; docs/history.md describes each member)
  --home DIR    state directory holding audit.db (default $MODELSHIP_HOME, else .modelship)
  --url URL     PostgreSQL audit log instead (default $MODELSHIP_AUDIT_URL)`;

export const command: Command = {
  async run(argv) {
    const { values, positionals } = parseCommandArgs(
      argv,
      {
        ...AUDIT_READER_OPTIONS,
        env: { type: 'string' },
        since: { type: 'string' },
        json: { type: 'boolean' },
      },
      USAGE,
    );
    const [model, ...extra] = positionals;
    if (model === undefined || extra.length > 0 || typeof values.env !== 'string') {
      throw new CliError(`history: name one model and --env\n\n${USAGE}`);
    }
    const key: HistoryKey = { model, environment: values.env };
    const since = typeof values.since === 'string' ? parseSince(values.since, new Date()) : null;
    try {
      return await withAuditReader(values, 'history', async (store) => {
        const records = await store.list(key);
        if (records.length === 0) throw new CliError(await nothingRecorded(store, key), 1);
        const folded = foldServingHistory(records, key);
        const history: ServingHistory = {
          schemaVersion: 1,
          model,
          environment: key.environment,
          auditLog: store.location,
          since,
          periods: since === null ? folded.periods : periodsSince(folded.periods, since),
        };
        if (values.json) console.log(JSON.stringify(history, null, 2));
        else if (history.periods.length > 0) console.log(formatHistory(history));
        else console.log(nothingServed(history, folded.runs));
        return 0;
      });
    } catch (error) {
      // A missing or unreadable log is an answer for the user, not a crash: one line, exit 1.
      if (error instanceof AuditStoreNotFoundError || error instanceof AuditStoreError) {
        throw new CliError(`history: ${error.message}`, 1);
      }
      throw error;
    }
  },
};

/**
 * `--since` as an ISO time: a duration counts back from `now`; a date or time is taken as
 * written (a date alone is midnight UTC, as `Date.parse` reads it).
 */
export function parseSince(text: string, now: Date): string {
  const trimmed = text.trim();
  if (/^\d+(\.\d+)?(ms|s|m|h|d)$/.test(trimmed)) {
    return new Date(now.getTime() - parseDuration(trimmed)).toISOString();
  }
  const time = /^\d{4}-\d{2}-\d{2}/.test(trimmed) ? Date.parse(trimmed) : Number.NaN;
  if (Number.isNaN(time)) {
    throw new CliError(
      `history: --since must be an ISO 8601 date or time (2026-05-01, 2026-05-01T12:00:00Z) or a duration such as 12h or 7d, got "${text}"`,
    );
  }
  return new Date(time).toISOString();
}

/** Why there is nothing: which log was read, and where the model does have history. */
async function nothingRecorded(store: AuditStore, key: HistoryKey): Promise<string> {
  const label = deploymentLabel(key);
  const elsewhere = [
    ...new Set((await store.list({ model: key.model })).map((record) => record.environment)),
  ];
  const hint =
    elsewhere.length > 0
      ? `${key.model} has history in: ${elsewhere.sort().join(', ')}`
      : `no record names the model ${key.model} (check its name, or whether MODELSHIP_HOME, --home or --url point at the log the workers write)`;
  return `history: no history found for ${label} in the audit log at ${store.location}; ${hint}`;
}

function nothingServed(history: ServingHistory, runs: number): string {
  const label = deploymentLabel(history);
  const when = history.since === null ? '' : ` since ${history.since}`;
  return `${label}: no version served traffic${when} (${runs} rollout run${runs === 1 ? '' : 's'} recorded in ${history.auditLog}; \`modelship audit show ${history.model} --env ${history.environment}\` lists them)`;
}
