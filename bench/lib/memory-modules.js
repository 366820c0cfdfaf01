// Loaded into a control-plane process with `node --import <this file>`: MODULES_PROBE_MS (default 8000) after
// the start it writes to MODULES_PROBE_FILE, for the main thread and for every worker thread then running
// (the data-plane thread, a parse worker…), the scripts its isolate compiled (URL and length in characters,
// from the inspector's Debugger.scriptParsed) and its heap after a full collection (HeapProfiler.collectGarbage,
// then Runtime.getHeapUsage; the main thread's v8.getHeapStatistics and getHeapCodeStatistics too). Workers are reached through the inspector's NodeWorker
// domain, so nothing is loaded into them. `node bench/lib/memory-modules.js FILE` prints a summary: per
// thread, characters of source by package (node_modules) or by src/ directory, and the heap.
import { readFileSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { getHeapCodeStatistics, getHeapStatistics } from 'node:v8';

const MB = 1024 * 1024;

function post(session, method, params = {}) {
  return new Promise((resolve, reject) => session.post(method, params, (err, result) => (err ? reject(err) : resolve(result))));
}

/** Scripts and heap of each thread: the main one directly, the workers through NodeWorker. */
async function collect() {
  const session = new Session();
  session.connect();
  const main = [];
  session.on('Debugger.scriptParsed', ({ params }) => main.push({ url: params.url, length: params.length ?? 0 }));
  await post(session, 'Debugger.enable');
  await post(session, 'Debugger.disable');
  await post(session, 'HeapProfiler.collectGarbage');
  const workers = new Map();
  session.on('NodeWorker.attachedToWorker', ({ params }) => workers.set(params.sessionId, { title: params.workerInfo.title, url: params.workerInfo.url, scripts: [], pending: new Map(), next: 1 }));
  session.on('NodeWorker.receivedMessageFromWorker', ({ params }) => {
    const w = workers.get(params.sessionId);
    if (!w) return;
    const message = JSON.parse(params.message);
    if (message.method === 'Debugger.scriptParsed') w.scripts.push({ url: message.params.url, length: message.params.length ?? 0 });
    else if (message.id && w.pending.has(message.id)) {
      w.pending.get(message.id)(message.result);
      w.pending.delete(message.id);
    }
  });
  await post(session, 'NodeWorker.enable', { waitForDebuggerOnStart: false });
  await new Promise((resolve) => setTimeout(resolve, 500));
  const ask = (sessionId, w, method, params = {}) =>
    new Promise((resolve) => {
      const id = w.next++;
      w.pending.set(id, resolve);
      void post(session, 'NodeWorker.sendMessageToWorker', { sessionId, message: JSON.stringify({ id, method, params }) });
      setTimeout(() => resolve(undefined), 5000).unref();
    });
  const threads = [
    {
      thread: 'main',
      heap: { ...getHeapStatistics(), code: getHeapCodeStatistics() },
      rss: process.memoryUsage().rss,
      scripts: main,
    },
  ];
  for (const [sessionId, w] of workers) {
    await ask(sessionId, w, 'Debugger.enable');
    await ask(sessionId, w, 'Debugger.disable');
    await ask(sessionId, w, 'HeapProfiler.collectGarbage');
    const heap = await ask(sessionId, w, 'Runtime.getHeapUsage');
    threads.push({ thread: w.url || w.title, heap, scripts: w.scripts });
  }
  await post(session, 'NodeWorker.disable');
  session.disconnect();
  return threads;
}

const file = process.env.MODULES_PROBE_FILE;
if (file && process.argv[1] !== new URL(import.meta.url).pathname) {
  setTimeout(() => {
    collect().then(
      (threads) => writeFileSync(file, JSON.stringify(threads)),
      (err) => writeFileSync(file, JSON.stringify({ error: String(err) })),
    );
  }, Number(process.env.MODULES_PROBE_MS ?? 8000)).unref();
}

/** Where a script comes from: a package under node_modules, a directory of the project, or node itself. */
function origin(url) {
  const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (nm) return nm[1];
  const own = /\/dist\/(src\/[^/]+(?:\/[^/]+)?)\//.exec(url) ?? /\/dist\/(src)\/[^/]+$/.exec(url);
  if (own) return own[1];
  if (url.startsWith('node:')) return 'node:';
  return url ? 'other' : '(eval)';
}

if (process.argv[1] === new URL(import.meta.url).pathname) {
  const threads = JSON.parse(readFileSync(process.argv[2], 'utf8'));
  for (const t of threads) {
    const by = new Map();
    for (const s of t.scripts) {
      const o = origin(s.url);
      const e = by.get(o) ?? { files: 0, chars: 0 };
      e.files++;
      e.chars += s.length;
      by.set(o, e);
    }
    const total = t.scripts.reduce((n, s) => n + s.length, 0);
    const heap = t.heap?.used_heap_size !== undefined ? `heap used ${(t.heap.used_heap_size / MB).toFixed(1)} MB of ${(t.heap.total_physical_size / MB).toFixed(1)} MB physical; code+metadata ${((t.heap.code.code_and_metadata_size + t.heap.code.bytecode_and_metadata_size) / MB).toFixed(1)} MB, external script source ${(t.heap.code.external_script_source_size / MB).toFixed(1)} MB` : t.heap ? `heap used ${(t.heap.usedSize / MB).toFixed(1)} MB of ${(t.heap.totalSize / MB).toFixed(1)} MB` : '';
    console.log(`\n${t.thread}: ${t.scripts.length} scripts, ${(total / MB).toFixed(2)} M chars; ${heap}`);
    for (const [o, e] of [...by].sort((a, b) => b[1].chars - a[1].chars)) console.log(`  ${o.padEnd(40)} ${String(e.files).padStart(4)} files ${(e.chars / 1024).toFixed(0).padStart(6)} K chars`);
  }
}
