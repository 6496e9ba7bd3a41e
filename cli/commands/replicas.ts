/**
 * `modelship replicas --env E`: what E's desired state says and whether every replica serves it,
 * judged as a rollout judges (`desired-state/convergence.ts`). Exit 0 when every live replica
 * serves the newest generation, 1 when one lags or failed, or when no replica is live.
 */

import { convergence } from '../../desired-state/convergence.ts';
import { desiredStateDirFor, openDesiredStateStore } from '../../desired-state/open.ts';
import type { DesiredState } from '../../desired-state/types.ts';
import { loadConfig } from '../../worker/config.ts';
import { CliError, type Command, parseCommandArgs } from '../command.ts';

const LIVE_WITHIN_MS = 10_000;

const USAGE = `Usage: modelship replicas --env <environment> [--json]

Shows the environment's desired state (generation, each model's stable, canary and shadow) from
$MODELSHIP_DESIRED_STATE_URL (else files under $MODELSHIP_HOME) and every replica's last report:
converged, lagging, failed, or stale (silent for more than ${LIVE_WITHIN_MS / 1000} s, not counted).
Exits 1 when a live replica lags or failed, or when no replica is live.`;

function routingLines(state: DesiredState): string[] {
  const models = Object.entries(state.models);
  if (models.length === 0) return ['  no models'];
  return models.map(([model, routing]) => {
    const canary = routing.canary ? `, canary ${routing.canary.version} at ${routing.canary.weight} %` : '';
    const shadow = routing.shadow ? `, shadow ${routing.shadow.version}` : '';
    return `  ${model}: stable ${routing.stable.version}${canary}${shadow}`;
  });
}

export const command: Command = {
  async run(argv) {
    const { values } = parseCommandArgs(argv, { env: { type: 'string' }, json: { type: 'boolean' } }, USAGE);
    const environment = typeof values.env === 'string' ? values.env : undefined;
    if (!environment) throw new CliError(`--env is required\n\n${USAGE}`);
    const config = loadConfig();
    const desired = await openDesiredStateStore({
      url: config.desiredStateUrl,
      directory: desiredStateDirFor(config.home),
    });
    try {
      const state = await desired.read(environment);
      const reports = await desired.replicas(environment);
      const verdict = convergence({
        desired: state,
        reports: reports.reports,
        now: reports.readAt,
        liveWithinMs: LIVE_WITHIN_MS,
      });
      if (values.json) {
        console.log(
          JSON.stringify({ desired: state, replicas: reports.reports, convergence: verdict }, null, 2),
        );
      } else {
        console.log(`${environment}: generation ${state.generation} (${desired.location})`);
        for (const line of routingLines(state)) console.log(line);
        const rows = [
          ...verdict.converged.map((r) => `  ${r.replica}: serves generation ${r.serving}`),
          ...verdict.lagging.map((r) => `  ${r.replica}: lagging: ${r.why}`),
          ...verdict.failed.map(
            (r) => `  ${r.replica}: FAILED at generation ${r.generation}: ${r.message ?? ''}`,
          ),
          ...verdict.stale.map(
            (r) => `  ${r.replica}: stale (last report ${Math.round(r.ageMs / 1000)} s ago)`,
          ),
        ];
        console.log(rows.length > 0 ? `replicas:\n${rows.join('\n')}` : 'replicas: none has reported');
        console.log(verdict.message);
      }
      return verdict.state === 'done' ? 0 : 1;
    } finally {
      await desired.close();
    }
  },
};
