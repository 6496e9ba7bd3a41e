/** `npm test` and `.ci/run` call this first, so the Temporal CLI is there before any test starts. */
import { ensureTemporalCli } from '../worker/temporal-cli.ts';

try {
  const cli = ensureTemporalCli();
  process.stderr.write(`modelship: Temporal CLI ${cli.path} (from ${cli.source})\n`);
} catch (error) {
  process.stderr.write(`modelship: ${(error as Error).message}\n`);
  process.exit(1);
}
