/** `modelship revert <model> --env ENV`: the commit that makes the spec name what the environment serves again. */
import { resolve } from 'node:path';
import { AuditStoreError, AuditStoreNotFoundError } from '../../audit/store.ts';
import { RevertError, revertToServing } from '../../gitops/revert.ts';
import { UntrustedAuditLogError, verifiedRecordsOf } from '../../release/verified-records.ts';
import { AUDIT_READER_OPTIONS, withAuditReader } from '../audit-reader.ts';
import { CliError, type Command, parseCommandArgs } from '../command.ts';

const USAGE = `Usage: modelship revert <model> --env ENV [options]

After an automatic rollback the data plane serves the version before, while the spec in Git still
names the artifact that was rolled back (and is quarantined). This writes the commit that sets the
spec's spec.model back to the artifact ENV serves, read from the audit log, as the spec of the
commit that brought it in named it.

Options:
  --env ENV         the environment (required)
  --repo DIR        the repository's working tree (default: the current directory)
  --specs-dir DIR   where specs are, relative to the repository (default specs)
  --branch NAME     commit on a new branch NAME instead of the current branch
  --push REMOTE     push the branch to REMOTE afterwards
  --open-pr         then open a pull request through the host's API (as for \`modelship promote\`)
  --pr-api URL, --pr-repository OWNER/NAME   as for \`modelship promote\`
  --dry-run         say what would change; change nothing
  --json            print the result as JSON
  --home DIR, --url URL   the audit log (as for \`modelship audit\`)`;

export const command: Command = {
  async run(argv) {
    const { values, positionals } = parseCommandArgs(
      argv,
      {
        ...AUDIT_READER_OPTIONS,
        env: { type: 'string' },
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
    if (model === undefined || extra.length > 0 || typeof values.env !== 'string') {
      throw new CliError(`revert: name one model and --env\n\n${USAGE}`);
    }
    const json = values.json === true;
    const out = (line: string) => (json ? console.error(line) : console.log(line));
    let pullRequest: { api: string; token: string; repository?: string } | undefined;
    if (values['open-pr'] === true) {
      const token = process.env.GITHUB_TOKEN?.trim() || process.env.MODELSHIP_GIT_TOKEN?.trim();
      if (!token)
        throw new CliError('revert: --open-pr needs a token in $GITHUB_TOKEN or $MODELSHIP_GIT_TOKEN');
      pullRequest = {
        api:
          (typeof values['pr-api'] === 'string' ? values['pr-api'] : undefined) ??
          (process.env.MODELSHIP_GIT_API?.trim() || 'https://api.github.com'),
        token,
        ...(typeof values['pr-repository'] === 'string' ? { repository: values['pr-repository'] } : {}),
      };
    }
    try {
      const result = await withAuditReader(values, 'revert', async (store) =>
        revertToServing({
          root: resolve(typeof values.repo === 'string' ? values.repo : '.'),
          specsDir: typeof values['specs-dir'] === 'string' ? values['specs-dir'] : 'specs',
          model,
          environment: values.env as string,
          records: await verifiedRecordsOf(store, model),
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
        error instanceof RevertError ||
        error instanceof UntrustedAuditLogError ||
        error instanceof AuditStoreNotFoundError ||
        error instanceof AuditStoreError
      ) {
        throw new CliError(`revert: ${error.message}`, 1);
      }
      throw error;
    }
  },
};
