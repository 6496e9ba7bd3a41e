/**
 * `npm run demo`: modelship's whole journey in under a minute, on a fresh temporary Git repository
 * and a fresh temporary stack (Temporal dev server, data plane, worker), all stopped and removed
 * at the end, on failure and on Ctrl-C too.
 *
 * Ends with `demo: <n> promoted, <m> rolled back, audit verified` and exit 0. n counts staged
 * rollouts that ended promoted; a model's first deployment serves at once (outcome `serving`) and
 * is not counted. Exit 1 on any failure, 130 on Ctrl-C.
 */
import { rm } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { Cleanup } from './cleanup.ts';
import { type JourneyResult, runJourney } from './journey.ts';
import { createDemoRepo } from './repo.ts';
import { say } from './say.ts';
import { startStack } from './stack.ts';

const USAGE = `Usage: npm run demo [-- --keep] [-- --ui]

Creates a temporary Git repository and a temporary MODELSHIP_HOME, starts a Temporal dev server,
the serving data plane and a worker, and walks through a first deployment, a promoted rollout
with an approval, an automatic rollback of a bad model caught on live traffic, and an audit check.

  --keep   keep the repository and MODELSHIP_HOME (audit log, bundles, logs) afterwards
  --ui     also serve the Temporal Web UI (its address is printed) to watch the rollouts
  -h, --help`;

/** The promise of the journey's bound: well under the 5 minutes a newcomer is promised. */
const DEADLINE_MS = 4 * 60_000;

/** How long an interrupted journey may take to reach a point where it stops (a start-up finishing). */
const JOURNEY_STOP_MS = 30_000;

function sleep(ms: number): Promise<void> {
  return new Promise((resolveSleep) => setTimeout(resolveSleep, ms));
}

class Interrupted extends Error {
  constructor(readonly signal: NodeJS.Signals) {
    super(`interrupted by ${signal}`);
  }
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: { keep: { type: 'boolean' }, ui: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const keep = values.keep === true;
  const started = Date.now();
  const cleanup = new Cleanup();

  // Ctrl-C and the deadline end the journey wherever it is; the stops below then run.
  let timer: NodeJS.Timeout | undefined;
  const stopped = new Promise<never>((_, reject) => {
    for (const signal of ['SIGINT', 'SIGTERM'] as const)
      process.once(signal, () => reject(new Interrupted(signal)));
    timer = setTimeout(
      () => reject(new Error(`the demo did not finish within ${DEADLINE_MS / 60_000} minutes`)),
      DEADLINE_MS,
    );
  });

  let result: JourneyResult | undefined;
  let failure: unknown;
  const abort = new AbortController();
  const journey = (async () => {
    say(
      "modelship's whole journey on a fresh temporary Git repository and a stack of its own: commit " +
        'iris v1 (first deployment), v2 (staged rollout with an approval) and a bad version (caught on ' +
        'live traffic), then drift the traffic under the promoted v2 until its monitor catches it, and verify the audit log',
    );
    say(
      'options: --keep keeps the repository and MODELSHIP_HOME afterwards, --ui serves the Temporal Web UI',
    );
    const repo = await createDemoRepo();
    if (!keep) cleanup.add('demo repository', () => rm(repo.root, { recursive: true, force: true }));
    say(`Git repository at ${repo.root}`);
    const stack = await startStack({ ui: values.ui === true, keep }, cleanup);
    abort.signal.throwIfAborted();
    const outcome = await runJourney(stack, repo, cleanup, abort.signal);
    return { result: outcome, kept: { repo: repo.root, home: stack.config.home } };
  })();
  // Abandoned on an interrupt: whatever it throws later is beside the point. Likewise a Ctrl-C
  // that arrives after the journey: the stops below run anyway.
  journey.catch(() => {});
  stopped.catch(() => {});
  let kept: { repo: string; home: string } | undefined;
  try {
    const done = await Promise.race([journey, stopped]);
    result = done.result;
    kept = done.kept;
  } catch (error) {
    failure = error;
  } finally {
    clearTimeout(timer);
  }
  if (failure instanceof Interrupted) say(`${failure.message}: stopping everything the demo started`);
  else if (failure) console.error(`demo: FAILED: ${(failure as Error).message ?? String(failure)}`);
  if (failure) {
    // The journey stops at its next check of the signal: a short call, or a start-up in progress
    // whose processes are only known (and then stopped) once it is done. Until then connections
    // stay open under it; anything it still throws while everything stops is reported, not fatal.
    abort.abort(failure);
    await Promise.race([journey.catch(() => {}), sleep(JOURNEY_STOP_MS)]);
    process.on('uncaughtException', (error) => console.error(`demo: while stopping: ${error.message}`));
  }

  await cleanup.stopAll((what, error) =>
    console.error(`demo: stopping the ${what} failed: ${error.message}`),
  );
  const seconds = Math.round((Date.now() - started) / 1000);
  if (failure instanceof Interrupted) {
    say(`stopped everything it started (after ${seconds} s)`);
    return 130;
  }
  if (failure) {
    say(
      `stopped everything it started (after ${seconds} s)${keep ? '' : '; rerun with --keep to keep the logs'}`,
    );
    return 1;
  }
  if (!result) throw new Error('unreachable: no result and no failure');
  say(`stopped everything it started; ${seconds} s in all`);
  if (keep && kept) {
    say(`kept the repository ${kept.repo} and MODELSHIP_HOME ${kept.home}`);
    say(`read the trail with: npx modelship audit show iris --home ${kept.home}`);
  }
  const count = (outcome: string) => result.outcomes.filter((entry) => entry.outcome === outcome).length;
  say(
    `outcomes: ${result.outcomes.map((entry) => `${entry.version} ${entry.outcome}`).join(', ')} ` +
      '(a first deployment serves at once and is not counted as promoted)',
  );
  say(
    `${count('promoted')} promoted, ${count('rolled-back')} rolled back, drift on ${result.drifted} caught, audit verified`,
  );
  return 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(`demo: FAILED: ${(error as Error).stack ?? String(error)}`);
    process.exit(1);
  },
);
