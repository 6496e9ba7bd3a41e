/** `modelship promote <model> --from ENV --to ENV`: the commit that moves what passed one environment to the next. */
import { resolve } from 'node:path';
import { AuditStoreError, AuditStoreNotFoundError } from '../../audit/store.ts';
import { PromoteError, promote } from '../../gitops/promote.ts';
import { UntrustedAuditLogError, verifiedRecordsOf } from '../../release/verified-records.ts';
import { AUDIT_READER_OPTIONS, withAuditReader } from '../audit-reader.ts';
import { CliError, type Command, parseCommandArgs } from '../command.ts';

const USAGE = `Usage: modelship promote <model> --from ENV --to ENV [options]

Writes the commit that changes the --to environment's spec of <model> to exactly the model
artifact (spec.model.source and sha256) the --from environment's spec names, after checking on
the audit log that it is not quarantined and that it passed --from as the --to spec's
spec.promotion asks (served all traffic there, minSoak, required verdicts). The commit message
carries the evidence. Merge it (or let it be merged) and the usual apply deploys it; DeployModel
judges the same evidence again.

Options:
  --from ENV        the environment the artifact passed (required)
  --to ENV          the environment to promote it to (required)
  --sha256 HEX      promote this artifact instead of the one the --from spec names
  --source PATH     where that artifact is (spec.model.source), with --sha256
  --repo DIR        the repository's working tree (default: the current directory)
  --specs-dir DIR   where specs are, relative to the repository (default specs)
  --branch NAME     commit on a new branch NAME instead of the current branch
  --push REMOTE     push the branch to REMOTE afterwards, to open a pull request from it
  --open-pr         then open that pull request (into the branch promote started from) through
                    the host's API: a GitHub-style POST /repos/{owner}/{name}/pulls, token from
                    $GITHUB_TOKEN or $MODELSHIP_GIT_TOKEN; needs --branch and --push
  --pr-api URL      the API (default $MODELSHIP_GIT_API, else https://api.github.com)
  --pr-repository OWNER/NAME   default: read from the remote's URL
  --dry-run         judge and say what would change; change nothing
  --json            print the result as JSON
  --home DIR, --url URL   the audit log (as for \`modelship audit\`)`;

export const command: Command = {
  async run(argv) {
    const { values, positionals } = parseCommandArgs(
      argv,
      {
        ...AUDIT_READER_OPTIONS,
        from: { type: 'string' },
        to: { type: 'string' },
        sha256: { type: 'string' },
        source: { type: 'string' },
        repo: { type: 'string' },
        'specs-dir': { type: 'string' },
        branch: { type: 'string' },
        push: { type: 'string' },
        'open-pr': { type: 'boolean' },
        'pr-api': { type: 'string' },
        'pr-repository': { type: 'string' },
        'dry-run': { type: 'boolean' },
        json: { type: 'boolean' },
      },
      USAGE,
    );
    const [model, ...extra] = positionals;
    if (
      model === undefined ||
      extra.length > 0 ||
      typeof values.from !== 'string' ||
      typeof values.to !== 'string'
    ) {
      throw new CliError(`promote: name one model, --from and --to\n\n${USAGE}`);
    }
    const sha256 = typeof values.sha256 === 'string' ? values.sha256 : undefined;
    if (sha256 !== undefined && !/^[a-f0-9]{64}$/.test(sha256)) {
      throw new CliError('promote: --sha256 must be 64 lowercase hex characters');
    }
    const json = values.json === true;
    let pullRequest: { api: string; token: string; repository?: string } | undefined;
    if (values['open-pr'] === true) {
      const token = process.env.GITHUB_TOKEN?.trim() || process.env.MODELSHIP_GIT_TOKEN?.trim();
      if (!token)
        throw new CliError('promote: --open-pr needs a token in $GITHUB_TOKEN or $MODELSHIP_GIT_TOKEN');
      const api =
        (typeof values['pr-api'] === 'string' ? values['pr-api'] : undefined) ??
        (process.env.MODELSHIP_GIT_API?.trim() || 'https://api.github.com');
      pullRequest = {
        api,
        token,
        ...(typeof values['pr-repository'] === 'string' ? { repository: values['pr-repository'] } : {}),
      };
    }
    const out = (line: string) => (json ? console.error(line) : console.log(line));
    try {
      const result = await withAuditReader(values, 'promote', async (store) =>
        promote({
          root: resolve(typeof values.repo === 'string' ? values.repo : '.'),
          specsDir: typeof values['specs-dir'] === 'string' ? values['specs-dir'] : 'specs',
          model,
          from: values.from as string,
          to: values.to as string,
          ...(sha256 ? { artifactSha256: sha256 } : {}),
          ...(typeof values.source === 'string' ? { artifactSource: values.source } : {}),
          records: await verifiedRecordsOf(store, model),
          now: new Date(),
          ...(typeof values.branch === 'string' ? { branch: values.branch } : {}),
          ...(typeof values.push === 'string' ? { push: values.push } : {}),
          ...(pullRequest ? { pullRequest } : {}),
          dryRun: values['dry-run'] === true,
          out,
        }),
      );
      if (json) console.log(JSON.stringify(result, null, 2));
      return 0;
    } catch (error) {
      if (
        error instanceof PromoteError ||
        error instanceof UntrustedAuditLogError ||
        error instanceof AuditStoreNotFoundError ||
        error instanceof AuditStoreError
      ) {
        throw new CliError(`promote: ${error.message}`, 1);
      }
      throw error;
    }
  },
};
