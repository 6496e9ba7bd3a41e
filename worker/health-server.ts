/**
 * The worker's liveness endpoint, for Docker's HEALTHCHECK and a Kubernetes liveness probe:
 * `GET /healthz` answers 200 while the worker runs with its pollers up, and 503 once it is
 * stopping, failed or a poller has failed, so the orchestrator restarts a worker that lives on
 * but no longer takes work. The body is the SDK's own status, for whoever looks. `GET /metrics`
 * serves the monitors' findings counted on this worker (`monitor-metrics.ts`).
 */
import { createServer, type Server } from 'node:http';
import type { Worker } from '@temporalio/worker';
import type { MonitorMetrics } from './monitor-metrics.ts';

type StatusSource = Pick<Worker, 'getStatus'>;

/** Whether a worker with this status does its job: running, and neither poller failed or shut down. */
export function workerIsLive(status: ReturnType<Worker['getStatus']>): boolean {
  return (
    status.runState === 'RUNNING' &&
    status.workflowPollerState === 'POLLING' &&
    status.activityPollerState === 'POLLING'
  );
}

/** Listens on `host:port`; resolves once listening. */
export async function startHealthServer(
  worker: StatusSource,
  port: number,
  host = '0.0.0.0',
  metrics?: MonitorMetrics,
): Promise<Server> {
  const server = createServer((request, response) => {
    if (metrics && request.method === 'GET' && request.url === '/metrics') {
      response.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(metrics.render());
      return;
    }
    if (request.method !== 'GET' || request.url !== '/healthz') {
      response.writeHead(404, { 'content-type': 'text/plain' }).end('not found: GET /healthz or /metrics\n');
      return;
    }
    const status = worker.getStatus();
    const live = workerIsLive(status);
    response.writeHead(live ? 200 : 503, { 'content-type': 'application/json' }).end(
      JSON.stringify({
        live,
        runState: status.runState,
        workflowPoller: status.workflowPollerState,
        activityPoller: status.activityPollerState,
        activitiesInFlight: status.numInFlightActivities,
      }),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return server;
}
