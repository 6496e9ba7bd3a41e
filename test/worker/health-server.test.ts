import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Worker } from '@temporalio/worker';
import { afterEach, describe, expect, it } from 'vitest';
import { startHealthServer, workerIsLive } from '../../worker/health-server.ts';

type Status = ReturnType<Worker['getStatus']>;

const running = {
  runState: 'RUNNING',
  workflowPollerState: 'POLLING',
  activityPollerState: 'POLLING',
  numInFlightActivities: 2,
} as Status;

let server: Server | undefined;
afterEach(() => server?.close());

async function probe(status: Status, path = '/healthz') {
  server = await startHealthServer({ getStatus: () => status }, 0, '127.0.0.1');
  const { port } = server.address() as AddressInfo;
  const response = await fetch(`http://127.0.0.1:${port}${path}`);
  return { status: response.status, body: await response.text() };
}

describe('worker liveness endpoint', () => {
  it('answers 200 with the SDK status while the worker polls', async () => {
    const answer = await probe(running);
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.body)).toMatchObject({ live: true, runState: 'RUNNING', activitiesInFlight: 2 });
  });

  it.each([
    { runState: 'STOPPING' },
    { runState: 'FAILED' },
    { activityPollerState: 'FAILED' },
    { workflowPollerState: 'SHUTDOWN' },
  ] as Partial<Status>[])('answers 503 when %o, so the orchestrator restarts it', async (change) => {
    const status = { ...running, ...change } as Status;
    expect(workerIsLive(status)).toBe(false);
    expect((await probe(status)).status).toBe(503);
  });

  it('answers 404 on any other path', async () => {
    expect((await probe(running, '/metrics')).status).toBe(404);
  });
});
