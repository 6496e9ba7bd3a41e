/** `modelship scan <model.onnx…>`: the scan step's offline checks on model files in a checkout. */
import { readFile } from 'node:fs/promises';
import { DEFAULT_SCAN_LIMITS, formatFinding, type ScanReport, scanModelFile } from '../../model/scan.ts';
import { modelTexts } from '../../model/texts.ts';
import { formatSecretFinding, type SecretFinding, scanModelTexts } from '../../supply-chain/secrets/index.ts';
import { CliError, type Command, parseCommandArgs } from '../command.ts';

const USAGE = `Usage: modelship scan <model.onnx…> [--json] [--sha256 <hex>] [--max-bytes <n>] [--max-nodes <n>]
                     [--max-graph-depth <n>] [--allow-domain <d>…]

Runs the scan step's checks without onnxruntime, walking every graph, subgraph (If/Loop/Scan),
function, node, attribute and tensor: size limit, protobuf structure and tensor sizes, IR and
opset versions the bundled onnxruntime runs, node/nesting/tensor-size limits, operator domains
and EPContext nodes, attributes that name files, external data (paths, symlinks out of the
model's directory, byte ranges) and duplicate metadata keys; and secrets in the model's
doc_strings and metadata (secretlint's recommended rules, shown masked). The digest is checked
only when --sha256 is given (one file at a time). Exit code 1 when any file has an error finding
or a secret. (Signatures are verified by the workflow and by plan, against a policy's keys.)

Options:
  --json                 print one JSON report per file instead of text
  --sha256 <hex>         expected sha256 of the (single) model file
  --max-bytes <n>        size limit in bytes (default ${DEFAULT_SCAN_LIMITS.maxBytes})
  --max-nodes <n>        most nodes in all graphs and functions (default ${DEFAULT_SCAN_LIMITS.maxNodes})
  --max-graph-depth <n>  deepest subgraph nesting (default ${DEFAULT_SCAN_LIMITS.maxGraphDepth})
  --allow-domain <d>     allow an extra operator domain (repeatable); "" and ai.onnx, ai.onnx.ml always are`;

/** A file's outcome: its report and the secrets in its texts, or why it could not be read at all. */
type Outcome =
  | { file: string; report: ScanReport; secrets: SecretFinding[] }
  | { file: string; error: string };

export const command: Command = {
  async run(argv) {
    const { values, positionals } = parseCommandArgs(
      argv,
      {
        json: { type: 'boolean' },
        sha256: { type: 'string' },
        'max-bytes': { type: 'string' },
        'max-nodes': { type: 'string' },
        'max-graph-depth': { type: 'string' },
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
    const maxBytes = parseCount('--max-bytes', values['max-bytes'], 1);
    const maxNodes = parseCount('--max-nodes', values['max-nodes'], 1);
    const maxGraphDepth = parseCount('--max-graph-depth', values['max-graph-depth'], 0);
    const extra = Array.isArray(values['allow-domain']) ? values['allow-domain'].map(String) : [];
    const allowedDomains = [...DEFAULT_SCAN_LIMITS.allowedDomains, ...extra];

    const outcomes: Outcome[] = [];
    for (const file of positionals) {
      try {
        const report = await scanModelFile(file, {
          allowedDomains,
          ...(maxBytes === undefined ? {} : { maxBytes }),
          ...(maxNodes === undefined ? {} : { maxNodes }),
          ...(maxGraphDepth === undefined ? {} : { maxGraphDepth }),
          ...(sha256 === undefined ? {} : { expectedSha256: sha256 }),
        });
        // The file was just read whole by the scan (within its size limit), so reading it again is bounded.
        const secrets = report.model ? await scanModelTexts(modelTexts(await readFile(file), file)) : [];
        outcomes.push({ file, report, secrets });
      } catch (error) {
        outcomes.push({ file, error: (error as Error).message });
      }
    }

    if (values.json) console.log(JSON.stringify(outcomes, null, 2));
    else for (const outcome of outcomes) console.log(renderText(outcome));
    return outcomes.some((o) => 'error' in o || !o.report.passed || o.secrets.length > 0) ? 1 : 0;
  },
};

/** An integer option of at least `min`, or undefined when not given. */
function parseCount(option: string, value: unknown, min: 0 | 1): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < min) {
    const kind = min === 1 ? 'a positive integer' : 'a non-negative integer';
    throw new CliError(`${option} must be ${kind}, got "${value}"`);
  }
  return n;
}

function renderText(outcome: Outcome): string {
  if ('error' in outcome) return `${outcome.file}: cannot read: ${outcome.error}`;
  const { file, report, secrets } = outcome;
  const errors = report.findings.filter((f) => f.severity === 'error').length + secrets.length;
  const warnings = report.findings.length - errors;
  const model = report.model;
  const summary = model
    ? ` (${model.producer || 'unknown producer'}, ir ${model.irVersion}, opsets ${model.opsets
        .map((o) => `${o.domain || 'ai.onnx'} ${o.version}`)
        .join(
          ', ',
        )}, ${model.nodeCount} nodes${model.maxGraphDepth > 0 ? `, subgraphs ${model.maxGraphDepth} deep` : ''})`
    : '';
  const passed = report.passed && secrets.length === 0;
  const head = `${file}: ${passed ? 'ok' : `FAILED, ${errors} error(s)`}${warnings ? `, ${warnings} warning(s)` : ''}${summary}`;
  return [
    head,
    ...report.findings.map((f) => `  ${f.severity} ${formatFinding(f)}`),
    ...secrets.map((f) => `  error ${formatSecretFinding(f)}`),
  ].join('\n');
}
