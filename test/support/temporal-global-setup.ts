/**
 * Starts one real `temporal server start-dev` (in memory, headless) for the whole workflow test
 * run and hands its address to the tests through vitest's `provide`/`inject`.
 */
import type { TestProject } from 'vitest/node';
import { startDevServer } from '../../worker/dev-server.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    temporalAddress: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const server = await startDevServer({ startTimeoutMs: 90_000 });
  project.provide('temporalAddress', server.address);
  return async () => {
    await server.stop();
  };
}
