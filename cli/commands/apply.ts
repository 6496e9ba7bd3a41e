/**
 * `modelship apply --base <ref> --head <ref>`: start, supersede or skip DeployModel for every spec
 * changed between two commits, each read at the head commit. What CI runs after a merge.
 */
import type { Client } from '@temporalio/client';
import { applyChanges } from '../../gitops/apply.ts';
import { originTokenFrom } from '../../gitops/origin-token.ts';
import { loadConfig } from '../../worker/config.ts';
import { connectClient } from '../../worker/connection.ts';
import { CliError, type Command, parseCommandArgs } from '../command.ts';
import { asUsageError, openRepo } from './plan.ts';

const USAGE = `Usage: modelship apply --base <ref> --head <ref> [--repo DIR] [--specs-dir DIR] [--no-wait]

Starts one DeployModel per ModelDeployment spec added or changed between the two commits, with
the spec as committed at --head (never the working tree), on the Temporal server at
$TEMPORAL_ADDRESS ($TEMPORAL_NAMESPACE, $TEMPORAL_API_KEY; task queue $MODELSHIP_TASK_QUEUE).
If any changed spec is invalid, nothing starts. For each valid spec, the latest run of its
workflow (deploy/<environment>/<model>) decides:
  running this commit and spec         nothing (already rolling out)
  running another commit               supersede: cancel it (it rolls back), then start
  done with this spec, serving         nothing (already deployed)
  done with this spec, rolled back     nothing, and say so: change the spec to deploy again
  anything else                        start
A removed spec whose model and environment no spec at --head declares retires its deployment
(RetireModel, same workflow id): a running rollout is cancelled first (it rolls back), then the
model leaves the data plane (traffic stops, versions drained and unloaded); already retired:
nothing.

The worker reads the model file from --repo (it verifies the pinned digest): run apply where
the worker can read the same checkout, or give models as https:// URIs.

Options:
  --base REF        the commit before the change (the null sha means "nothing": apply every spec)
  --head REF        the commit to apply
  --repo DIR        the repository (default: the current directory)
  --specs-dir DIR   folder of specs inside the repository (default: specs)
  --no-wait         start the rollouts and exit instead of waiting for their results
  -h, --help

Exit status: 0 all deployed or on their way, 1 an invalid spec, a rolled-back spec left
unchanged, or a run that ended rejected or rolled back, 2 usage error.`;

export const command: Command = {
  async run(argv) {
    const { values } = parseCommandArgs(
      argv,
      {
        base: { type: 'string' },
        head: { type: 'string' },
        repo: { type: 'string', default: '.' },
        'specs-dir': { type: 'string', default: 'specs' },
        'no-wait': { type: 'boolean' },
      },
      USAGE,
    );
    const { base, head } = values;
    if (typeof base !== 'string' || typeof head !== 'string') {
      throw new CliError(`--base and --head are required\n\n${USAGE}`);
    }
    const reader = await openRepo(String(values.repo));
    const config = loadConfig();
    let client: Client | undefined;
    try {
      const report = await applyChanges({
        reader,
        base,
        head,
        specsDir: String(values['specs-dir']),
        connect: async () => {
          client = await connectClient(config);
          return client;
        },
        taskQueue: config.taskQueue,
        originToken: await originTokenFrom(process.env),
        wait: values['no-wait'] !== true,
      }).catch(asUsageError);
      return report.exitCode;
    } finally {
      await client?.connection.close();
    }
  },
};
