import { defineConfig } from 'vitest/config';

/**
 * `npm run test:stack`: the compose stack end to end (test/stack/), apart from `npm test` because
 * it needs a Docker engine and docker-compose, and builds images.
 */
export default defineConfig({
  test: {
    pool: 'forks',
    include: ['test/stack/**/*.test.ts'],
    testTimeout: 600_000,
    hookTimeout: 600_000,
  },
});
