// Loaded into a control-plane process with `node --import <this file>`: every MEM_PROBE_MS (default 100)
// it appends one JSON line to the file MEM_PROBE_FILE: process.memoryUsage() (rss, heapTotal, heapUsed,
// external, arrayBuffers, in bytes), the time, the garbage collector's work so far (count and ms of
// minor (scavenge) and major (mark-compact) collections, from the 'gc' performance entries), and the main
// isolate's heap by space (`spaces`: committed bytes of new, old, code and large-object spaces). Other
// isolates (the data-plane thread, the parse worker) are only in rss. The timer is unref'd: it never
// keeps the process up.
import { appendFileSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { PerformanceObserver, constants } from 'node:perf_hooks';
import { getHeapSpaceStatistics } from 'node:v8';

const file = process.env.MEM_PROBE_FILE;
if (file) {
  const every = Number(process.env.MEM_PROBE_MS ?? 100);
  const gc = { minor: 0, minorMs: 0, major: 0, majorMs: 0 };
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      if (e.detail?.kind === constants.NODE_PERFORMANCE_GC_MINOR) {
        gc.minor++;
        gc.minorMs += e.duration;
      } else if (e.detail?.kind === constants.NODE_PERFORMANCE_GC_MAJOR) {
        gc.major++;
        gc.majorMs += e.duration;
      }
    }
  }).observe({ entryTypes: ['gc'] });
  setInterval(() => {
    const m = process.memoryUsage();
    const cpu = process.cpuUsage();
    const spaces = {};
    for (const sp of getHeapSpaceStatistics()) spaces[sp.space_name.replace(/_space$/, '')] = sp.physical_space_size;
    appendFileSync(
      file,
      `${JSON.stringify({ t: Date.now(), rss: m.rss, heapTotal: m.heapTotal, heapUsed: m.heapUsed, external: m.external, arrayBuffers: m.arrayBuffers, cpuMs: (cpu.user + cpu.system) / 1000, ...gc, spaces })}\n`,
    );
  }, every).unref();
}

// MEM_PROBE_ALLOC=<file>: a sampling heap profile of every allocation (also those collected since, by
// either collector) over the first MEM_PROBE_ALLOC_MS (default 60 s) is written to <file>: where the garbage
// comes from, not only what stays live.
const allocFile = process.env.MEM_PROBE_ALLOC;
if (allocFile) {
  const session = new Session();
  session.connect();
  session.post('HeapProfiler.startSampling', { samplingInterval: 16384, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true });
  setTimeout(() => {
    session.post('HeapProfiler.stopSampling', (err, result) => {
      writeFileSync(allocFile, err ? JSON.stringify({ error: String(err) }) : JSON.stringify(result.profile));
      session.disconnect();
    });
  }, Number(process.env.MEM_PROBE_ALLOC_MS ?? 60_000)).unref();
}
