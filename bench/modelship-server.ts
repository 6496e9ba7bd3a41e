/**
 * modelship's server as the benchmark runs it, in its own process: `startServingServer` with
 * metrics on and monitoring on or off, the stable bundle loaded, the canary bundle loaded and
 * given `canaryWeight` percent, all through the admin API over HTTP as the control plane would.
 * Prints `{"url": …, "token": …, "monitoring": …}` on stdout once it is serving (`monitoring`: what
 * the stable version's live statistics watch, or null when off), then runs until killed.
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
  /** Live statistics and data-quality counting (default true). */
  monitoring?: boolean;
}

const config = JSON.parse(process.argv[2] ?? '') as ModelshipBenchServerConfig;
const token = randomBytes(24).toString('hex');
const monitoring = config.monitoring ?? true;
const server = await startServingServer({
  port: config.port ?? 0,
  adminToken: token,
  metrics: true,
  monitoring,
});
const admin = createAdminClient({ baseUrl: server.url, token });
await admin.loadVersion({ model: config.model, ...config.stable });
await admin.loadVersion({
  model: config.model,
  version: config.canary.version,
  bundlePath: config.canary.bundlePath,
});
await admin.setCanary({ model: config.model, version: config.canary.version, weight: config.canary.weight });
const watched = async () => {
  const stable = (await admin.statistics({ model: config.model })).versions.find(
    (entry) => entry.version === config.stable.version,
  );
  return {
    profiled_features: stable?.features.length ?? 0,
    constrained_columns: Object.keys(stable?.quality.violations ?? {}).length,
  };
};
console.log(JSON.stringify({ url: server.url, token, monitoring: monitoring ? await watched() : null }));

const stop = () => {
  void server.close().then(() => process.exit(0));
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
