/**
 * `modelship` entry point: looks up the command and runs it. Each command lives in
 * `cli/commands/<name>.ts`, loaded only when called so that `modelship validate` never pays for
 * Temporal or onnxruntime start-up.
 */
import { setFlagsFromString } from 'node:v8';
import { CliError, type Command } from './command.ts';

interface CommandEntry {
  summary: string;
  load: () => Promise<{ command: Command }>;
  /** Serves until stopped; the other commands do their work and exit. */
  runsUntilStopped?: true;
}

const COMMANDS: Record<string, CommandEntry> = {
  validate: {
    summary: 'Check spec files against the schema and rules',
    load: () => import('./commands/validate.ts'),
  },
  scan: {
    summary: 'Run the offline security checks on model files',
    load: () => import('./commands/scan.ts'),
  },
  keygen: {
    summary: 'Create a key pair for signing models (PEM files)',
    load: () => import('./commands/keygen.ts'),
  },
  sign: {
    summary: 'Sign a model directory (OpenSSF Model Signing bundle, offline, local key)',
    load: () => import('./commands/sign.ts'),
  },
  deploy: {
    summary: 'Start DeployModel for a spec and wait for its result',
    load: () => import('./commands/deploy.ts'),
  },
  plan: {
    summary: 'Plan what merging a change to specs would do (markdown for a PR comment)',
    load: () => import('./commands/plan.ts'),
  },
  apply: {
    summary: 'Start, supersede or skip DeployModel for the specs changed between two commits',
    load: () => import('./commands/apply.ts'),
  },
  approve: {
    summary: 'Approve or reject the approval step a rollout waits on',
    load: () => import('./commands/approve.ts'),
  },
  status: {
    summary: 'Show every rollout: stage, weights, last verdict, who must approve',
    load: () => import('./commands/status.ts'),
  },
  replicas: {
    summary: "Show an environment's desired state and whether every serve replica serves it",
    load: () => import('./commands/replicas.ts'),
  },
  reconcile: {
    summary:
      'Compare Git, Temporal and the replicas for an environment; repair the data plane (or schedule it)',
    load: () => import('./commands/reconcile.ts'),
  },
  audit: { summary: 'Show, verify or export the audit log', load: () => import('./commands/audit.ts') },
  history: {
    summary: 'What served when: every version of a model in an environment, from the audit log',
    load: () => import('./commands/history.ts'),
  },
  card: {
    summary: 'Print the model card of the version serving in an environment, or of a bundle',
    load: () => import('./commands/card.ts'),
  },
  promote: {
    summary: "Commit the artifact that passed one environment to the next one's spec, on evidence",
    load: () => import('./commands/promote.ts'),
  },
  revert: {
    summary: 'Commit the spec back to the artifact the environment serves, after an automatic rollback',
    load: () => import('./commands/revert.ts'),
  },
  quarantine: {
    summary: 'List or lift the quarantine of artifacts rolled back automatically',
    load: () => import('./commands/quarantine.ts'),
  },
  serve: {
    summary: 'Run the serving data plane (KServe V2 model server, router, admin API)',
    load: () => import('./commands/serve.ts'),
    runsUntilStopped: true,
  },
  load: {
    summary: 'Send holdout rows to a served model and report latency and version shares',
    load: () => import('./commands/load.ts'),
  },
  worker: {
    summary: 'Run a Temporal worker for modelship workflows',
    load: () => import('./commands/worker.ts'),
    runsUntilStopped: true,
  },
  stack: {
    summary: 'Run the production-like stack on this host with docker-compose (up, down, ps, logs)',
    load: () => import('./commands/stack.ts'),
    runsUntilStopped: true,
  },
  dev: {
    summary:
      'Run the whole stack (Temporal dev server and Web UI, data plane, worker, traffic) and deploy the example specs',
    load: () => import('./commands/dev.ts'),
    runsUntilStopped: true,
  },
  schema: {
    summary: 'Print or write the JSON Schema of the spec language',
    load: () => import('./commands/schema.ts'),
  },
};

function usage(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((name) => name.length));
  const lines = Object.entries(COMMANDS).map(([name, { summary }]) => `  ${name.padEnd(width)}  ${summary}`);
  return [
    'modelship: GitOps for machine-learning models',
    '',
    'Usage: modelship <command> [options]',
    '',
    'Commands:',
    ...lines,
    '',
    "Run `modelship <command> --help` for a command's options.",
    'State lives under $MODELSHIP_HOME (default .modelship/ in the working directory).',
  ].join('\n');
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    console.log(usage());
    return name === undefined ? 2 : 0;
  }
  const entry = COMMANDS[name];
  if (!entry) {
    console.error(`modelship: unknown command "${name}"\n\n${usage()}`);
    return 2;
  }
  if (!entry.runsUntilStopped) compileWebAssemblyQuickly();
  const { command } = await entry.load();
  return command.run(rest);
}

/**
 * The audit log and the desired state's local store are SQLite compiled to WebAssembly
 * (node-sqlite3-wasm). V8 also compiles that module with its optimizing tier, which costs a
 * process about 0.2 s of CPU before it pays back: opening a log and reading it took 0.33 s of CPU
 * with it and 0.11 s with the baseline compiler only, and even reading 50,000 rows was faster
 * without it (0.25 s against 0.65 s). So a command that exits when done compiles WebAssembly with
 * the baseline compiler only; one that runs for days keeps the optimized code. Set before any
 * command module is loaded, so before the module is compiled.
 */
function compileWebAssemblyQuickly(): void {
  setFlagsFromString('--liftoff-only');
}

try {
  process.exitCode = await main(process.argv.slice(2));
} catch (error) {
  if (error instanceof CliError) {
    console.error(`modelship: ${error.message}`);
    process.exitCode = error.exitCode;
  } else {
    console.error(error);
    process.exitCode = 1;
  }
}
