/**
 * A child process's memory and CPU time, from procfs: the resident set now (`VmRSS`) and its
 * high-water mark since the process started (`VmHWM`, kept by the kernel, so a short spike
 * between two samples is not missed), and the CPU seconds it used. NaN where there is no procfs.
 */
import { readFileSync } from 'node:fs';

const KIB_PER_MIB = 1024;

function statusField(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const match = new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(status);
    return match ? Number(match[1]) / KIB_PER_MIB : Number.NaN;
  } catch {
    return Number.NaN;
  }
}

/** Resident memory now, MiB. */
export function rssMib(pid: number): number {
  return statusField(pid, 'VmRSS');
}

/** The largest resident memory the process has had so far, MiB. */
export function peakRssMib(pid: number): number {
  return statusField(pid, 'VmHWM');
}

/**
 * Samples `VmRSS` every `intervalMs` until stopped; the maximum sampled covers one phase of a
 * process's life, which its lifetime high-water mark cannot tell apart.
 */
export function sampleRss(pid: number, intervalMs = 200): { stop(): { maxMib: number; samples: number } } {
  let maxMib = rssMib(pid);
  let samples = 1;
  const timer = setInterval(() => {
    const now = rssMib(pid);
    if (now > maxMib || Number.isNaN(maxMib)) maxMib = now;
    samples += 1;
  }, intervalMs);
  return {
    stop() {
      clearInterval(timer);
      return { maxMib, samples };
    },
  };
}

/** USER_HZ: 100 on every Linux that Node supports. */
const CLOCK_TICKS = 100;

/** CPU seconds (user + system, all threads) the process has used so far, from `/proc/<pid>/stat`. */
export function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The fields after the command name (which may hold spaces) start after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
  } catch {
    return Number.NaN;
  }
}
