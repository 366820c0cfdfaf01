// What Linux says about a process: resident memory and CPU time (from /proc), and "quiet" — the process
// has used (almost) no CPU for a while, i.e. it finished converging (reconciles, discoveries, writes).
import { readFileSync } from 'node:fs';
import { sleep } from './common.js';

const CLOCK_TICKS_PER_SECOND = 100; // USER_HZ; 100 on every Linux this runs on.

/** Resident set size in MB, or NaN when the process is gone. */
export function rssMb(pid) {
  try {
    const m = /VmRSS:\s+(\d+)\s+kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : NaN;
  } catch {
    return NaN;
  }
}

/** User + system CPU time in ms, or NaN when the process is gone. */
export function cpuMs(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces) start after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const utime = Number(fields[11]);
    const stime = Number(fields[12]);
    return ((utime + stime) * 1000) / CLOCK_TICKS_PER_SECOND;
  } catch {
    return NaN;
  }
}

/**
 * Resolves once the process used at most `maxCpuMs` of CPU in a window of `windowMs` (it is idle), with
 * how long that took. Rejects after timeoutMs.
 */
export async function waitQuiet(pid, { windowMs = 500, maxCpuMs = 30, timeoutMs = 120_000 } = {}) {
  const started = performance.now();
  let before = cpuMs(pid);
  for (;;) {
    await sleep(windowMs);
    const now = cpuMs(pid);
    if (Number.isNaN(now)) throw new Error(`process ${pid} exited while waiting for it to go quiet`);
    if (now - before <= maxCpuMs) return performance.now() - started;
    if (performance.now() - started > timeoutMs) throw new Error(`process ${pid} was still busy after ${timeoutMs} ms`);
    before = now;
  }
}

/** The 1-minute load average, as /proc/loadavg says it ("4.21"), or "?" . */
export function loadAverage() {
  try {
    return readFileSync('/proc/loadavg', 'utf8').split(' ')[0];
  } catch {
    return '?';
  }
}
