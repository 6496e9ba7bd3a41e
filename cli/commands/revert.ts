/** `modelship revert <model> --env ENV`: the commit that makes the spec name what the environment serves again. */
import { RevertError, revertToServing } from '../../gitops/revert.ts';
import { verifiedRecordsOf } from '../../release/verified-records.ts';
import { AUDIT_READER_OPTIONS, withAuditReader } from '../audit-reader.ts';
import { CliError, type Command, parseCommandArgs } from '../command.ts';
import { isAnswer, SPEC_CHANGE_FLAGS, SPEC_CHANGE_USAGE, specChangeSettings } from '../spec-change-flags.ts';

const USAGE = `Usage: modelship revert <model> --env ENV [options]

After an automatic rollback the data plane serves the version before, while the spec in Git still
names the artifact that was rolled back (and is quarantined). This writes the commit that sets the
spec's spec.model back to the artifact ENV serves, read from the audit log, as the spec of the
commit that brought it in named it.

Options:
  --env ENV         the environment (required)
${SPEC_CHANGE_USAGE}
  --home DIR, --url URL   the audit log (as for \`modelship audit\`)`;

export const command: Command = {
  async run(argv) {
    const { values, positionals } = parseCommandArgs(
      argv,
      {
        ...AUDIT_READER_OPTIONS,
        env: { type: 'string' },
        ...SPEC_CHANGE_FLAGS,
      },
      USAGE,
    );
    const [model, ...extra] = positionals;
    if (model === undefined || extra.length > 0 || typeof values.env !== 'string') {
      throw new CliError(`revert: name one model and --env\n\n${USAGE}`);
    }
    const settings = specChangeSettings(values, 'revert');
    try {
      const result = await withAuditReader(values, 'revert', async (store) =>
        revertToServing({
          ...settings,
          model,
          environment: values.env as string,
          records: await verifiedRecordsOf(store, model),
        }),
      );
      if (settings.json) console.log(JSON.stringify(result, null, 2));
      return 0;
    } catch (error) {
      if (isAnswer(error, RevertError)) {
        throw new CliError(`revert: ${error.message}`, 1);
      }
      throw error;
    }
  },
};
