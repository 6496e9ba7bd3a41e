/** A real serving data plane for workflow tests, in the test process on a free port. */
import { startServingServer } from '../../serving/server.ts';

export interface TestDataPlane {
  url: string;
  adminToken: string;
  /** The token `POST /v2/models/{m}/feedback` takes (labels fed back). */
  feedbackToken: string;
  close(): Promise<void>;
}

export async function startTestDataPlane(): Promise<TestDataPlane> {
  const adminToken = `test-token-${process.pid}-${Date.now()}`;
  const feedbackToken = `test-feedback-${process.pid}-${Date.now()}`;
  const server = await startServingServer({ adminToken, feedbackToken });
  return { url: server.url, adminToken, feedbackToken, close: () => server.close() };
}
