/** `modelship scan <model.onnx…>`: the scan step's offline checks on model files in a checkout. */
import { DEFAULT_SCAN_LIMITS, formatFinding, type ScanReport, scanModelFile } from '../../activities/scan.ts';
import { CliError, type Command, parseCommandArgs } from '../command.ts';

const USAGE = `Usage: modelship scan <model.onnx…> [--json] [--sha256 <hex>] [--max-bytes <n>] [--allow-domain <d>…]

Runs the scan step's checks without onnxruntime: size limit, protobuf structure, operator
domains (graph, subgraphs, functions) and external-data paths. The digest is checked only when
--sha256 is given (one file at a time). Exit code 1 when any file has an error finding.

Options:
  --json               print one JSON report per file instead of text
  --sha256 <hex>       expected sha256 of the (single) model file
  --max-bytes <n>      size limit in bytes (default ${DEFAULT_SCAN_LIMITS.maxBytes})
  --allow-domain <d>   allow an extra operator domain (repeatable); "" and ai.onnx, ai.onnx.ml always are`;

/** A file's outcome: its report, or why it could not be read at all. */
type Outcome = { file: string; report: ScanReport } | { file: string; error: string };

export const command: Command = {
  async run(argv) {
    const { values, positionals } = parseCommandArgs(
      argv,
      {
        json: { type: 'boolean' },
        sha256: { type: 'string' },
        'max-bytes': { type: 'string' },
        'allow-domain': { type: 'string', multiple: true },
      },
      USAGE,
    );
    if (positionals.length === 0) throw new CliError(`no model files given\n\n${USAGE}`);
    const sha256 = typeof values.sha256 === 'string' ? values.sha256.toLowerCase() : undefined;
    if (sha256 !== undefined && !/^[a-f0-9]{64}$/.test(sha256)) {
      throw new CliError(`--sha256 must be 64 hex characters, got "${values.sha256}"`);
    }
    if (sha256 !== undefined && positionals.length > 1)
      throw new CliError('--sha256 applies to one file only');
    const maxBytes = parseMaxBytes(values['max-bytes']);
    const extra = Array.isArray(values['allow-domain']) ? values['allow-domain'].map(String) : [];
    const allowedDomains = [...DEFAULT_SCAN_LIMITS.allowedDomains, ...extra];

    const outcomes: Outcome[] = [];
    for (const file of positionals) {
      try {
        const report = await scanModelFile(file, {
          allowedDomains,
          ...(maxBytes === undefined ? {} : { maxBytes }),
          ...(sha256 === undefined ? {} : { expectedSha256: sha256 }),
        });
        outcomes.push({ file, report });
      } catch (error) {
        outcomes.push({ file, error: (error as Error).message });
      }
    }

    if (values.json) console.log(JSON.stringify(outcomes, null, 2));
    else for (const outcome of outcomes) console.log(renderText(outcome));
    return outcomes.some((o) => 'error' in o || !o.report.passed) ? 1 : 0;
  },
};

function parseMaxBytes(value: unknown): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n <= 0)
    throw new CliError(`--max-bytes must be a positive integer, got "${value}"`);
  return n;
}

function renderText(outcome: Outcome): string {
  if ('error' in outcome) return `${outcome.file}: cannot read: ${outcome.error}`;
  const { file, report } = outcome;
  const errors = report.findings.filter((f) => f.severity === 'error').length;
  const warnings = report.findings.length - errors;
  const model = report.model;
  const summary = model
    ? ` (${model.producer || 'unknown producer'}, ir ${model.irVersion}, opsets ${model.opsets
        .map((o) => `${o.domain || 'ai.onnx'} ${o.version}`)
        .join(', ')}, ${model.nodeCount} nodes)`
    : '';
  const head = `${file}: ${report.passed ? 'ok' : `FAILED, ${errors} error(s)`}${warnings ? `, ${warnings} warning(s)` : ''}${summary}`;
  return [head, ...report.findings.map((f) => `  ${f.severity} ${formatFinding(f)}`)].join('\n');
}
