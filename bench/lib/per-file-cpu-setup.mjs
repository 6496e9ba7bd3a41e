// A vitest setup file for `bench test-suite --per-file`, copied into each measured tree (so that
// `vitest` resolves to that tree's own copy). Records each test file's CPU: its worker process's
// user and system time plus its reaped children's, from /proc/self/stat, between the file's first
// and last hook. Plain JavaScript: it is loaded from under node_modules, untransformed.
import { appendFileSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, expect } from 'vitest';

const out = process.env.MODELSHIP_PER_FILE_CPU_OUT;

function cpuSeconds() {
  const stat = readFileSync('/proc/self/stat', 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // utime, stime, cutime, cstime, in clock ticks (100 a second on Linux).
  return (Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14])) / 100;
}

let startedAt = 0;
beforeAll(() => {
  startedAt = cpuSeconds();
});
afterAll(() => {
  if (!out) return;
  const file = (expect.getState().testPath ?? '').replace(`${process.cwd()}/`, '');
  appendFileSync(out, `${file}\t${(cpuSeconds() - startedAt).toFixed(2)}\n`);
});
