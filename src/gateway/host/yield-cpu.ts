// With the data plane on its own thread, the control plane's thread yields the CPU to it: on Linux a nice
// value is per thread (setpriority on a thread id; the main thread's id is the process id), so raising the
// main thread's nice leaves the data-plane thread (started before) at its own, while the threads the control
// plane starts later (parse and policy workers) inherit the lower priority. Elsewhere setpriority on the
// process id would lower every thread, the gateway's too, so nothing is changed there.
import { getPriority, setPriority } from 'node:os';
import type { Logger } from '../../domain/logger.js';

/** Answers the nice value the calling process's main thread has afterwards (undefined: unchanged). */
export function yieldCpuToDataPlane(nice: number, logger: Logger): number | undefined {
  if (nice <= 0 || process.platform !== 'linux') return undefined;
  try {
    const current = getPriority(process.pid);
    if (current >= nice) return current;
    setPriority(process.pid, nice);
    return nice;
  } catch (err) {
    logger.warn({ err: err instanceof Error ? err.message : String(err), nice }, 'could not lower the control plane thread\'s priority; the gateway thread shares the CPU with it evenly');
    return undefined;
  }
}
