/**
 * modelship's server as the benchmark runs it, in its own process: `startServingServer` with
 * metrics on, the stable bundle loaded, the canary bundle loaded and given `canaryWeight`
 * percent, all through the admin API over HTTP as the control plane would. Prints
 * `{"url": …, "token": …}` on stdout once it is serving, then runs until killed.
 * Usage: `node --import tsx bench/modelship-server.ts '<json of ModelshipBenchServerConfig>'`.
 */
import { randomBytes } from 'node:crypto';
import { createAdminClient } from '../serving/admin-client.ts';
import { startServingServer } from '../serving/server.ts';

/** What the parent passes as the one argument, as JSON. */
interface ModelshipBenchServerConfig {
  model: string;
  stable: { version: string; bundlePath: string };
  canary: { version: string; bundlePath: string; weight: number };
  port?: number;
}

const config = JSON.parse(process.argv[2] ?? '') as ModelshipBenchServerConfig;
const token = randomBytes(24).toString('hex');
const server = await startServingServer({ port: config.port ?? 0, adminToken: token, metrics: true });
const admin = createAdminClient({ baseUrl: server.url, token });
await admin.loadVersion({ model: config.model, ...config.stable });
await admin.loadVersion({
  model: config.model,
  version: config.canary.version,
  bundlePath: config.canary.bundlePath,
});
await admin.setCanary({ model: config.model, version: config.canary.version, weight: config.canary.weight });
console.log(JSON.stringify({ url: server.url, token }));

const stop = () => {
  void server.close().then(() => process.exit(0));
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
