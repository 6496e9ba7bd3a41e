import { defineConfig } from 'vitest/config';

/**
 * Two projects: `unit` (pure code, activities against real models and files) needs nothing
 * running; `workflows` gets one real `temporal server start-dev` for the whole run, started by
 * its global setup. Forks, not threads: the Temporal worker and onnxruntime hold native state.
 */
export default defineConfig({
  test: {
    pool: 'forks',
    // Vitest's default is one worker per core but one, which on a two-core machine runs every
    // file in turn; most of these tests wait on servers, timers and traffic, so two share well.
    maxWorkers: 3,
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: [
            'test/{architecture,specs,domain,model,activities,audit,release,cli,models,worker,serving,loadgen,analysis,gitops,supply-chain,desired-state,oci,sources,deploy,containers}/**/*.test.ts',
            'test/workflows/**/*.unit.test.ts',
          ],
          testTimeout: 30_000,
        },
      },
      {
        extends: true,
        test: {
          name: 'workflows',
          include: ['test/{workflows,replay,e2e}/**/*.test.ts'],
          exclude: ['test/workflows/**/*.unit.test.ts'],
          globalSetup: ['test/support/temporal-global-setup.ts'],
          testTimeout: 120_000,
          hookTimeout: 120_000,
        },
      },
    ],
  },
});
