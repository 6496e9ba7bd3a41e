// The image's HEALTHCHECK: one GET, healthy on 2xx. Which URL depends on what the container
// runs: $MODELSHIP_HEALTHCHECK_URL when set; a worker with $MODELSHIP_HEALTH_PORT answers on
// /healthz; otherwise `modelship serve` on its default port, whose readiness is /v2/health/ready.
// Plain JavaScript on Node's own http module: a health check must not load the TypeScript tool
// chain every few seconds.
import { get } from 'node:http';

const url =
  process.env.MODELSHIP_HEALTHCHECK_URL ??
  (process.env.MODELSHIP_HEALTH_PORT
    ? `http://127.0.0.1:${process.env.MODELSHIP_HEALTH_PORT}/healthz`
    : 'http://127.0.0.1:8000/v2/health/ready');

const request = get(url, { timeout: 4000 }, (response) => {
  response.resume();
  const ok = response.statusCode >= 200 && response.statusCode < 300;
  if (!ok) console.error(`unhealthy: ${url} answered ${response.statusCode}`);
  process.exit(ok ? 0 : 1);
});
request.on('timeout', () => request.destroy(new Error('timed out')));
request.on('error', (error) => {
  console.error(`unhealthy: ${url}: ${error.message}`);
  process.exit(1);
});
