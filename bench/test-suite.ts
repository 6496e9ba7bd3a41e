/**
 * `npm run bench test-suite`: how long `npm test` takes now against how long it took at an earlier
 * commit, on this machine, in one run. Issue 10 asks that the suite be no slower than it was when
 * the issue was filed, covering no less; these machines differ from day to day by a third or more,
 * so only a side-by-side measurement says anything.
 *
 * The earlier commit (`--base`, default the last commit before issue 10's work) is checked out as a
 * git worktree in the temporary folder and installed with `npm ci` once (kept for later runs); each
 * tree's test tools are installed before anything is timed. Then each round runs both suites'
 * `npm test` (CI=true), one after the other, alternating which goes first; nothing else should run
 * meanwhile. Reported per suite: wall time, the whole machine's busy CPU during the run (every
 * process the suite starts; other load on the machine counts too), test files and
 * tests passed; medians over rounds and their ratios.
 *
 * With `--per-file`, each tree's suite runs once more with a setup file that records every test
 * file's CPU (its worker's and its children's, `lib/per-file-cpu-setup.mjs`), and the report
 * splits the difference: the files both trees have, at the base and now, and the files added since.
 *
 * With `--files-of <commit>`, each round also runs the current tree's suite restricted to the test
 * files that existed at that commit (`npm test -- <those files>`): today's suite at the scope of an
 * earlier day, for instance the files issue 10's own work ended with, before later issues added
 * theirs. Those files keep every case added to them since, so the restriction never flatters.
 *
 * Options: --base <commit> (default 3d9b30e), --rounds <n> (default 2), --per-file,
 * --files-of <commit>.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { REPO_ROOT } from '../test/support/paths.ts';
import { machineBusySeconds, machineInfo, median } from './lib/machine.ts';
import { writeResultsFile } from './lib/results-file.ts';

/** The tree issue 10 was filed against: the last commit before its work began. */
const ISSUE_10_BASE = '3d9b30e';

const { values } = parseArgs({
  options: {
    base: { type: 'string', default: ISSUE_10_BASE },
    rounds: { type: 'string', default: '2' },
    'per-file': { type: 'boolean', default: false },
    'files-of': { type: 'string' },
  },
});
const rounds = Number(values.rounds);
// No timed rounds is allowed with --per-file: the split alone, written to a file of its own.
const fewestRounds = values['per-file'] ? 0 : 1;
if (!Number.isInteger(rounds) || rounds < fewestRounds) {
  console.error(
    `bench test-suite: --rounds must be a whole number of at least ${fewestRounds}, not "${values.rounds}"`,
  );
  process.exit(2);
}

interface SuiteRun {
  wall_s: number;
  machine_cpu_s: number;
  exit_code: number;
  test_files_passed: number | null;
  tests_passed: number | null;
}

/** Runs `command` in `cwd`; resolves with its exit code and everything it printed. */
function run(command: string, args: string[], cwd: string): Promise<{ code: number; output: string }> {
  return runWithEnv(command, args, cwd, {});
}

function runWithEnv(
  command: string,
  args: string[],
  cwd: string,
  env: Record<string, string>,
): Promise<{ code: number; output: string }> {
  return new Promise((resolveRun) => {
    const child = spawn(command, args, {
      cwd,
      env: { ...process.env, CI: 'true', FORCE_COLOR: '0', ...env },
    });
    let output = '';
    child.stdout.on('data', (chunk) => {
      output += chunk;
    });
    child.stderr.on('data', (chunk) => {
      output += chunk;
    });
    child.on('close', (code, signal) => resolveRun({ code: code ?? (signal ? 1 : 0), output }));
  });
}

/** `git rev-parse` of `ref` in this repository; exits naming `what` when it is unknown. */
async function resolveCommit(ref: string, what: string): Promise<string> {
  const { code, output } = await run('git', ['rev-parse', '--verify', `${ref}^{commit}`], REPO_ROOT);
  if (code !== 0) {
    console.error(`bench test-suite: ${what} ${ref} is not a commit of this repository (${output.trim()})`);
    process.exit(2);
  }
  return output.trim();
}

/** A worktree of `commit` with its dependencies installed, made once and kept for later runs. */
async function baseTree(commit: string): Promise<string> {
  // Outside this repository's node_modules: vitest treats files under node_modules as
  // dependencies, and the base tree's tests fail there.
  const dir = join(tmpdir(), 'modelship-bench-test-suite', commit.slice(0, 12));
  if (!existsSync(join(dir, 'package.json'))) {
    console.log(`bench test-suite: checking out ${commit.slice(0, 12)} into ${dir}`);
    await mkdir(join(dir, '..'), { recursive: true });
    const added = await run('git', ['worktree', 'add', '--force', '--detach', dir, commit], REPO_ROOT);
    if (added.code !== 0) throw new Error(`git worktree add failed:\n${added.output}`);
  }
  if (!existsSync(join(dir, 'node_modules'))) {
    console.log('bench test-suite: npm ci in the base tree (once)');
    const installed = await run('npm', ['ci', '--no-audit', '--no-fund'], dir);
    if (installed.code !== 0) throw new Error(`npm ci in ${dir} failed:\n${installed.output}`);
  }
  return dir;
}

/** Installs the test tools of the tree at `dir` first, so that no measured run pays for it. */
async function ensureTools(dir: string): Promise<void> {
  const { code, output } = await run(
    process.execPath,
    ['--import', 'tsx', 'scripts/ensure-test-tools.ts'],
    dir,
  );
  if (code !== 0) throw new Error(`installing the test tools in ${dir} failed:\n${output}`);
}

/** The count vitest's summary gives for `label` ("Test Files", "Tests"), passed only. */
function passed(output: string, label: string): number | null {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: colour codes, if any, are removed
  const plain = output.replace(/\x1b\[[0-9;]*m/g, '');
  const match = new RegExp(`^\\s*${label}\\s+(?:.*?\\|\\s*)?(\\d+) passed`, 'm').exec(plain);
  return match ? Number(match[1]) : null;
}

async function runSuite(name: string, dir: string, round: number, files: string[] = []): Promise<SuiteRun> {
  console.log(`bench test-suite: round ${round}: npm test of ${name} ...`);
  const busyBefore = machineBusySeconds();
  const started = performance.now();
  const { code, output } = await run('npm', files.length > 0 ? ['test', '--', ...files] : ['test'], dir);
  const result: SuiteRun = {
    wall_s: Math.round((performance.now() - started) / 100) / 10,
    machine_cpu_s: Math.round(machineBusySeconds() - busyBefore),
    exit_code: code,
    test_files_passed: passed(output, 'Test Files'),
    tests_passed: passed(output, 'Tests'),
  };
  console.log(
    `bench test-suite: round ${round}: ${name}: exit ${code}, ${result.wall_s} s wall, ${result.machine_cpu_s} s CPU, ${result.tests_passed ?? '?'} tests passed`,
  );
  if (code !== 0) console.log(output.split('\n').slice(-40).join('\n'));
  return result;
}

/**
 * Runs the suite of the tree at `dir` once with the per-file CPU setup file added to its own
 * vitest config (through a wrapper config in its node_modules cache, so the tree is not touched);
 * resolves with each test file's CPU seconds.
 */
async function perFileCpu(name: string, dir: string): Promise<Map<string, number>> {
  console.log(`bench test-suite: per-file CPU of ${name} ...`);
  const work = join(dir, 'node_modules', '.cache', 'modelship-bench');
  await mkdir(work, { recursive: true });
  const setup = join(work, 'per-file-cpu-setup.mjs');
  const out = join(work, 'per-file-cpu.tsv');
  await copyFile(join(REPO_ROOT, 'bench', 'lib', 'per-file-cpu-setup.mjs'), setup);
  await rm(out, { force: true });
  const config = join(work, 'vitest.per-file.config.mts');
  await writeFile(
    config,
    `import config from ${JSON.stringify(join(dir, 'vitest.config.ts'))};\n` +
      `export default { ...config, root: ${JSON.stringify(dir)}, test: { ...config.test, setupFiles: [...(config.test?.setupFiles ?? []), ${JSON.stringify(setup)}] } };\n`,
  );
  const vitest = join(dir, 'node_modules', 'vitest', 'vitest.mjs');
  const { code, output } = await runWithEnv(process.execPath, [vitest, 'run', '--config', config], dir, {
    MODELSHIP_PER_FILE_CPU_OUT: out,
  });
  if (code !== 0) console.log(output.split('\n').slice(-40).join('\n'));
  const cpu = new Map<string, number>();
  for (const line of (await readFile(out, 'utf8').catch(() => '')).split('\n')) {
    const [file, seconds] = line.split('\t');
    if (file && seconds) cpu.set(file, (cpu.get(file) ?? 0) + Number(seconds));
  }
  if (cpu.size === 0) throw new Error(`no per-file CPU recorded for ${name}:\n${output.slice(-2000)}`);
  return cpu;
}

/** The difference split by file: those both trees have, and those only the current tree has. */
function splitByFile(base: Map<string, number>, current: Map<string, number>) {
  const sum = (values: Iterable<number>) => Math.round([...values].reduce((a, b) => a + b, 0) * 10) / 10;
  const common = [...current.keys()].filter((file) => base.has(file));
  const added = [...current.keys()].filter((file) => !base.has(file));
  const top = (files: string[], by: (file: string) => number) =>
    files
      .sort((a, b) => by(b) - by(a))
      .slice(0, 12)
      .map((file) => ({ file, base_s: base.get(file) ?? null, current_s: current.get(file) ?? null }));
  return {
    common_files: common.length,
    common_cpu_s: {
      base: sum(common.map((f) => base.get(f) ?? 0)),
      current: sum(common.map((f) => current.get(f) ?? 0)),
    },
    added_files: added.length,
    added_cpu_s: sum(added.map((f) => current.get(f) ?? 0)),
    removed_files: [...base.keys()].filter((file) => !current.has(file)),
    largest_added: top(added, (f) => current.get(f) ?? 0),
    largest_growth: top(common, (f) => (current.get(f) ?? 0) - (base.get(f) ?? 0)),
  };
}

/**
 * The test files of `commit` that the checkout still has, as vitest filters. A filter matches by
 * substring, so each is checked to name exactly one of today's files.
 */
async function testFilesOf(commit: string): Promise<string[]> {
  const list = async (ref: string) => {
    const { code, output } = await run('git', ['ls-tree', '-r', '--name-only', ref, 'test'], REPO_ROOT);
    if (code !== 0) throw new Error(`git ls-tree ${ref} failed:\n${output}`);
    return output.split('\n').filter((file) => file.endsWith('.test.ts'));
  };
  const now = await list('HEAD');
  const then = new Set(await list(commit));
  const kept = now.filter((file) => then.has(file));
  for (const file of kept) {
    const matches = now.filter((other) => other.includes(file));
    if (matches.length !== 1) throw new Error(`the filter ${file} would run ${matches.join(', ')}`);
  }
  if (kept.length === 0) throw new Error(`none of the test files of ${commit} is left`);
  return kept;
}

const baseCommit = await resolveCommit(values.base, '--base');
const headCommit = await resolveCommit('HEAD', "the checkout's");
const scopeCommit = values['files-of'] ? await resolveCommit(values['files-of'], '--files-of') : undefined;
const scopeFiles = scopeCommit ? await testFilesOf(scopeCommit) : [];
const machine = machineInfo();
const base = await baseTree(baseCommit);
await ensureTools(base);
await ensureTools(REPO_ROOT);
const suites = { base: [] as SuiteRun[], current: [] as SuiteRun[], scope: [] as SuiteRun[] };
/** What each round runs: which suite's runs it adds to, under what name, in which tree, on which files. */
const plans = [
  { runs: suites.base, name: 'base', dir: base, files: [] as string[] },
  { runs: suites.current, name: 'current', dir: REPO_ROOT, files: [] as string[] },
  ...(scopeCommit
    ? [
        {
          runs: suites.scope,
          name: `current, files of ${scopeCommit.slice(0, 12)}`,
          dir: REPO_ROOT,
          files: scopeFiles,
        },
      ]
    : []),
];
for (let round = 1; round <= rounds; round += 1) {
  for (const plan of round % 2 === 1 ? plans : [...plans].reverse()) {
    plan.runs.push(await runSuite(plan.name, plan.dir, round, plan.files));
  }
}

const summary = (runs: SuiteRun[]) => ({
  // A median of two is their mean: rounded, so that it prints as 224.9, not 224.85000000000002.
  wall_s_median: Math.round(median(runs.map((r) => r.wall_s)) * 10) / 10,
  machine_cpu_s_median: Math.round(median(runs.map((r) => r.machine_cpu_s)) * 10) / 10,
  tests_passed: runs[0]?.tests_passed ?? null,
  all_passed: runs.every((r) => r.exit_code === 0),
});
const perFile = values['per-file']
  ? splitByFile(await perFileCpu('base', base), await perFileCpu('current', REPO_ROOT))
  : undefined;
if (perFile) {
  console.log(
    `bench test-suite: per file: the ${perFile.common_files} files both trees have ${perFile.common_cpu_s.base} s of CPU at the base, ${perFile.common_cpu_s.current} s now; the ${perFile.added_files} files added since ${perFile.added_cpu_s} s`,
  );
}

const baseSummary = summary(suites.base);
const currentSummary = summary(suites.current);
const scopeSummary = summary(suites.scope);
const ratio = (a: number, b: number) => Math.round((a / b) * 100) / 100;
/** A suite's medians over the base's. */
const overBase = (suite: ReturnType<typeof summary>) => ({
  wall: ratio(suite.wall_s_median, baseSummary.wall_s_median),
  machine_cpu: ratio(suite.machine_cpu_s_median, baseSummary.machine_cpu_s_median),
  tests: ratio(suite.tests_passed ?? Number.NaN, baseSummary.tests_passed ?? Number.NaN),
});
const results = {
  schema_version: 1,
  benchmark: 'test-suite',
  date: new Date().toISOString(),
  machine,
  method: {
    statistic: `median of ${rounds} round(s); each round runs every suite one after the other, in the reverse order the next round`,
    command: 'npm test with CI=true, tools already installed in each tree',
    cpu: 'busy CPU of the whole machine during the run (/proc/stat), so every process the suite starts counts',
  },
  base: { commit: baseCommit, ...baseSummary, runs: suites.base },
  current: { commit: headCommit, ...currentSummary, runs: suites.current },
  ratios_current_over_base: overBase(currentSummary),
  ...(scopeCommit
    ? {
        current_files_of: {
          commit: scopeCommit,
          test_files: scopeFiles.length,
          ...scopeSummary,
          runs: suites.scope,
          ratios_over_base: overBase(scopeSummary),
        },
      }
    : {}),
  ...(perFile ? { per_file_cpu: perFile } : {}),
};
if (rounds > 0) {
  console.log(
    `bench test-suite: base ${baseCommit.slice(0, 12)}: ${baseSummary.wall_s_median} s, ${baseSummary.tests_passed} tests; current: ${currentSummary.wall_s_median} s, ${currentSummary.tests_passed} tests; wall x${results.ratios_current_over_base.wall}, CPU x${results.ratios_current_over_base.machine_cpu}`,
  );
  if (results.current_files_of) {
    const scope = results.current_files_of;
    console.log(
      `bench test-suite: current, the ${scope.test_files} test files of ${scope.commit.slice(0, 12)}: ${scope.wall_s_median} s, ${scope.tests_passed} tests; wall x${scope.ratios_over_base.wall}, CPU x${scope.ratios_over_base.machine_cpu} the base`,
    );
  }
}
if (rounds === 0) {
  await writeResultsFile(
    join(REPO_ROOT, 'bench', 'results', 'test-suite-per-file.json'),
    {
      schema_version: 1,
      benchmark: 'test-suite --per-file',
      date: results.date,
      machine,
      method:
        "one run of each tree's vitest with a setup file recording each test file's CPU: its worker's user and system time plus its reaped children's (/proc/self/stat), from the file's first hook to its last",
      base: { commit: baseCommit },
      current: { commit: headCommit },
      per_file_cpu: perFile,
    },
    console.log,
  );
} else {
  await writeResultsFile(join(REPO_ROOT, 'bench', 'results', 'test-suite.json'), results, console.log);
}
