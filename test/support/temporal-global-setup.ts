/**
 * Starts one real `temporal server start-dev` (in memory) for the whole workflow test run and
 * hands its address to the tests through vitest's `provide`/`inject`. Its Web UI is on too, for
 * the browser test of approving in the UI (`test/e2e/web-ui-approve.test.ts`) and for a person
 * looking at a test run's workflows.
 */
import type { TestProject } from 'vitest/node';
import { startDevServer } from '../../worker/dev-server.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    temporalAddress: string;
    /** The Web UI of the same server, `http://127.0.0.1:PORT`. */
    temporalUiAddress: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const server = await startDevServer({ startTimeoutMs: 90_000, uiPort: 'free' });
  project.provide('temporalAddress', server.address);
  project.provide('temporalUiAddress', server.uiAddress ?? '');
  return async () => {
    await server.stop();
  };
}
