/**
 * `modelship apply --base <ref> --head <ref>`: start, supersede or skip DeployModel for every spec
 * changed between two commits, each read at the head commit. What CI runs after a merge.
 */
import type { Client } from '@temporalio/client';
import { applyChanges } from '../../gitops/apply.ts';
import { originTokenFrom } from '../../gitops/origin-token.ts';
import { repositoryLine, repositoryUrl } from '../../gitops/repository-url.ts';
import { loadConfig } from '../../worker/config.ts';
import { connectClient } from '../../worker/connection.ts';
import { CliError, type Command, parseCommandArgs } from '../command.ts';
import { openReleaseRecords } from '../release-records.ts';
import { asUsageError, openRepo } from './plan.ts';

const USAGE = `Usage: modelship apply --base <ref> --head <ref> [--repo DIR] [--repository URL] [--specs-dir DIR] [--no-wait]

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

Workers never read this checkout: each fetches --head from the repository URL itself (and
verifies every pinned digest). The URL is --repository, else $MODELSHIP_REPOSITORY_URL, else in
GitHub Actions the job's repository, else the checkout's origin remote, else the checkout's path
(only a worker on this machine can fetch from that). Push --head before you apply.

Options:
  --base REF        the commit before the change (the null sha means "nothing": apply every spec)
  --head REF        the commit to apply
  --repo DIR        the checkout specs are read from (default: the current directory)
  --repository URL  where workers fetch the commit (https, ssh or file URL; see above)
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
        repository: { type: 'string' },
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
    const repository = await repositoryUrl({
      root: reader.root,
      env: process.env,
      flag: typeof values.repository === 'string' ? values.repository : undefined,
    });
    console.log(repositoryLine('apply', repository));
    let client: Client | undefined;
    const release = await openReleaseRecords();
    try {
      const report = await applyChanges({
        ...(release ? { release: release.records } : {}),
        reader,
        repository: repository.url,
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
      await release?.close();
    }
  },
};
