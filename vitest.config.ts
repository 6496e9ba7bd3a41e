import { defineConfig } from 'vitest/config';
import LongestFirstSequencer from './test/support/longest-first-sequencer.ts';

/**
 * Two projects: `unit` (pure code, activities against real models and files) needs nothing
 * running; `workflows` gets one real `temporal server start-dev` for the whole run, started by
 * its global setup. Forks, not threads: the Temporal worker and onnxruntime hold native state.
 */
/** The `unit` project's files: pure code, activities against real models and files. */
const UNIT_TESTS = [
  'test/{architecture,specs,domain,model,activities,audit,release,cli,models,worker,serving,loadgen,analysis,gitops,supply-chain,desired-state,oci,sources,deploy,containers}/**/*.test.ts',
  'test/workflows/**/*.unit.test.ts',
];
/** Unit files that use `vi.mock`: they run isolated (see the `unit` project's `isolate`). */
const MOCKING_TESTS = ['test/workflows/deployment-run.unit.test.ts'];

export default defineConfig({
  test: {
    pool: 'forks',
    // Long waiting `workflows` files first, short computing `unit` files filling in after them.
    sequence: { sequencer: LongestFirstSequencer },
    // Vitest's default is one worker per core but one, which on a two-core machine runs every
    // file in turn. Most `workflows` files wait on servers, timers and traffic: with three workers
    // the two cores were 70 % busy while they ran, with four over 90 % but half idle for a stretch
    // early on, while the four longest journeys all waited on their rollouts' timers. Measured
    // side by side on two cores, alternating (whole suite): four workers 215.7 and 213.2 s,
    // five 198.4, 204.8, 200.2 and 195.4 s, six 201.9 and 208.6 s with 5 to 8 % more CPU (each
    // worker imports the SDK and the product once more).
    maxWorkers: 5,
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: UNIT_TESTS,
          exclude: MOCKING_TESTS,
          // One module registry per worker process, not per file: importing the SDK, zod schemas
          // and onnxruntime once per process instead of once per file takes about a quarter off
          // this project. Safe because no file here mutates process-wide state it does not restore
          // (no process.env writes, no chdir, fake timers and spies restored).
          isolate: false,
          testTimeout: 30_000,
        },
      },
      {
        extends: true,
        test: {
          // Files that replace a module with vi.mock need a registry of their own.
          name: 'unit-isolated',
          include: MOCKING_TESTS,
          testTimeout: 30_000,
        },
      },
      {
        extends: true,
        test: {
          name: 'workflows',
          include: ['test/{workflows,replay,e2e}/**/*.test.ts'],
          exclude: ['test/workflows/**/*.unit.test.ts', ...MOCKING_TESTS],
          globalSetup: ['test/support/temporal-global-setup.ts'],
          // Shared registry here too: each file would otherwise import the SDK (protobufjs builds
          // its message types on import) and the product again. The SDK's Runtime is the one
          // process-wide thing, and test/support/temporal-runtime.ts takes the one still up.
          isolate: false,
          testTimeout: 120_000,
          hookTimeout: 120_000,
        },
      },
    ],
  },
});
