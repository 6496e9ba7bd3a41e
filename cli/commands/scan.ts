/**
 * `modelship scan <model.onnx…>`: the ship gates that apply without a spec, on model files in a
 * checkout, through the same evaluator as `plan` and the workflow (`supply-chain/gates/`): the
 * structure scan, secrets in the model's texts and the text files beside it, the digest when
 * `--sha256` is given, and with `--env` the environment policy's scan limits and signatures.
 */
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { hasErrorCode } from '../../model/files.ts';
import { DEFAULT_SCAN_LIMITS, formatFinding, type ScanReport } from '../../model/scan.ts';
import {
  evaluateShipGates,
  type GateVerdict,
  localModelFiles,
  type ShipGateName,
} from '../../supply-chain/gates/evaluate.ts';
import { type LoadedPolicy, loadedDefaultPolicy, loadPolicy } from '../../supply-chain/policy/load.ts';
import { formatSecretFinding, type SecretFinding } from '../../supply-chain/secrets/index.ts';
import { CliError, type Command, parseCommandArgs } from '../command.ts';

const USAGE = `Usage: modelship scan <model.onnx…> [--json] [--sha256 <hex>] [--env <environment>] [--max-bytes <n>]
                     [--max-nodes <n>] [--max-graph-depth <n>] [--allow-domain <d>…]

Runs the ship gates that need no spec, as plan and the workflow run them: the scan's checks
without onnxruntime, walking every graph, subgraph (If/Loop/Scan), function, node, attribute and
tensor (size limit, protobuf structure and tensor sizes, IR and opset versions the bundled
onnxruntime runs, node/nesting/tensor-size limits, operator domains and EPContext nodes,
attributes that name files, external data, duplicate metadata keys); and secrets in the model's
doc_strings and metadata and in the text files beside it (secretlint's recommended rules, shown
masked). The digest is checked only when --sha256 is given (one file at a time). With --env, the
policy policies/<environment>.yaml of the current directory sets the scan's limits (over the
options below) and the model directory's signatures are verified against its keys. Exit code 1
when any file fails a gate.

Options:
  --json                 print one JSON report per file instead of text
  --sha256 <hex>         expected sha256 of the (single) model file
  --env <environment>    judge by policies/<environment>.yaml: its scan limits and signature keys
  --max-bytes <n>        size limit in bytes (default ${DEFAULT_SCAN_LIMITS.maxBytes})
  --max-nodes <n>        most nodes in all graphs and functions (default ${DEFAULT_SCAN_LIMITS.maxNodes})
  --max-graph-depth <n>  deepest subgraph nesting (default ${DEFAULT_SCAN_LIMITS.maxGraphDepth})
  --allow-domain <d>     allow an extra operator domain (repeatable); "" and ai.onnx, ai.onnx.ml always are`;

/** A file's outcome: its scan report, secrets and gate verdicts, or why it could not be read at all. */
type Outcome =
  | { file: string; report: ScanReport; secrets: SecretFinding[]; gates: GateVerdict[] }
  | { file: string; error: string };

export const command: Command = {
  async run(argv) {
    const { values, positionals } = parseCommandArgs(
      argv,
      {
        json: { type: 'boolean' },
        sha256: { type: 'string' },
        env: { type: 'string' },
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
    const env = typeof values.env === 'string' ? values.env : undefined;
    const policy = env === undefined ? loadedDefaultPolicy('local') : await policyOf(env);
    const gates: ShipGateName[] = ['digest', 'scan', 'secrets', ...(env ? (['signatures'] as const) : [])];

    const outcomes: Outcome[] = [];
    for (const file of positionals) {
      try {
        const judged = await evaluateShipGates({
          policy,
          files: localModelFiles({ modelFile: file, modelDir: dirname(file) }),
          source: file,
          ...(sha256 === undefined ? {} : { expectedSha256: sha256 }),
          baseLimits: {
            allowedDomains,
            ...(maxBytes === undefined ? {} : { maxBytes }),
            ...(maxNodes === undefined ? {} : { maxNodes }),
            ...(maxGraphDepth === undefined ? {} : { maxGraphDepth }),
          },
          gates,
        });
        if (judged.scan === null) throw new Error('the scan gate did not run');
        outcomes.push({
          file,
          report: judged.scan,
          secrets: judged.secrets,
          gates: judged.gates.filter((verdict) => gates.includes(verdict.gate)),
        });
      } catch (error) {
        outcomes.push({ file, error: (error as Error).message });
      }
    }

    if (values.json) console.log(JSON.stringify(outcomes, null, 2));
    else for (const outcome of outcomes) console.log(renderText(outcome));
    return outcomes.some((o) => 'error' in o || o.gates.some((gate) => gate.status === 'failed')) ? 1 : 0;
  },
};

/** The policy of `environment` in the current directory's `policies/`; a broken one is a usage error. */
async function policyOf(environment: string): Promise<LoadedPolicy> {
  let loaded: LoadedPolicy;
  try {
    loaded = await loadPolicy(
      {
        readFile: (path) =>
          readFile(join(process.cwd(), path), 'utf8').catch((error: unknown) => {
            if (hasErrorCode(error, 'ENOENT')) return undefined;
            throw error;
          }),
      },
      environment,
    );
  } catch (error) {
    throw new CliError((error as Error).message);
  }
  if (!loaded.ok) {
    const errors = loaded.errors.map(
      (error) => `${error.file}:${error.line}:${error.column}  ${error.message}`,
    );
    throw new CliError(`the policy of ${environment} cannot be used:\n${errors.join('\n')}`);
  }
  return loaded;
}

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
  const { file, report, secrets, gates } = outcome;
  const scanErrors = report.findings.filter((f) => f.severity === 'error').length;
  // Secrets are errors of their own: they are not among the scan's findings.
  const warnings = report.findings.length - scanErrors;
  const signatures = gates.find((gate) => gate.gate === 'signatures');
  const signatureErrors = signatures?.status === 'failed' ? signatures.findings : [];
  const errors = scanErrors + secrets.length + signatureErrors.length;
  const model = report.model;
  const summary = model
    ? ` (${model.producer || 'unknown producer'}, ir ${model.irVersion}, opsets ${model.opsets
        .map((o) => `${o.domain || 'ai.onnx'} ${o.version}`)
        .join(
          ', ',
        )}, ${model.nodeCount} nodes${model.maxGraphDepth > 0 ? `, subgraphs ${model.maxGraphDepth} deep` : ''})`
    : '';
  const passed = !gates.some((gate) => gate.status === 'failed');
  const head = `${file}: ${passed ? 'ok' : `FAILED, ${errors} error(s)`}${warnings ? `, ${warnings} warning(s)` : ''}${summary}`;
  return [
    head,
    ...report.findings.map((f) => `  ${f.severity} ${formatFinding(f)}`),
    ...secrets.map((f) => `  error ${formatSecretFinding(f)}`),
    ...signatureErrors.map((line) => `  error signatures: ${line}`),
    ...(signatures?.status === 'passed' ? [`  signatures: ${signatures.detail}`] : []),
  ].join('\n');
}
