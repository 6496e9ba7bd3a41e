/** `modelship promote <model> --from ENV --to ENV`: the commit that moves what passed one environment to the next. */
import { PromoteError, promote } from '../../gitops/promote.ts';
import { verifiedRecordsOf } from '../../release/verified-records.ts';
import { AUDIT_READER_OPTIONS, withAuditReader } from '../audit-reader.ts';
import { CliError, type Command, parseCommandArgs } from '../command.ts';
import { isAnswer, SPEC_CHANGE_FLAGS, SPEC_CHANGE_USAGE, specChangeSettings } from '../spec-change-flags.ts';

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
${SPEC_CHANGE_USAGE}
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
        ...SPEC_CHANGE_FLAGS,
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
    const settings = specChangeSettings(values, 'promote');
    try {
      const result = await withAuditReader(values, 'promote', async (store) =>
        promote({
          ...settings,
          model,
          from: values.from as string,
          to: values.to as string,
          ...(sha256 ? { artifactSha256: sha256 } : {}),
          ...(typeof values.source === 'string' ? { artifactSource: values.source } : {}),
          records: await verifiedRecordsOf(store, model),
          now: new Date(),
        }),
      );
      if (settings.json) console.log(JSON.stringify(result, null, 2));
      return 0;
    } catch (error) {
      if (isAnswer(error, PromoteError)) {
        throw new CliError(`promote: ${error.message}`, 1);
      }
      throw error;
    }
  },
};
