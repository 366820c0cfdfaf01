// watch-fanout: 100 watchers on GET /api/svc/v1/mcp-servers?watch=true (SSE), 1,000 changes (PUTs
// of new revisions, paced); the delivery latency of each change to each watcher, from the moment its
// PUT was sent to the moment the watcher read the event. A change is recognised by a marker in the
// description, so the event format does not matter. Skipped when the server has no watch stream.
import http from 'node:http';
import { SMOKE, log, sleep, tempDir, waitFor } from './lib/common.js';
import { callJson, deadLoopbackPort, expectOk } from './lib/http.js';
import { manifest } from './lib/manifests.js';
import { startServer } from './lib/server.js';
import { fmt, summarize } from './lib/stats.js';

export const describe = '100 SSE watchers, 1,000 changes: delivery latency';

const S = SMOKE ? { watchers: 5, changes: 20, servers: 5, ratePerSecond: 50 } : { watchers: 100, changes: 1000, servers: 100, ratePerSecond: 100 };
const PATH = '/api/svc/v1/mcp-servers';
const MARKER = /bench-change-(\d+)-end/g;

function skipped(reason) {
  return [{ figure: 'watch-fanout', measured: `skipped: ${reason}`, goal: 'p99 ≤ 50 ms', met: undefined, note: 'the watch stream is not available in this build' }];
}

/** Opens a watch; resolves with the response once headers arrived (or undefined when it is not SSE). */
function openWatch(base, token, agent, onText) {
  return new Promise((resolve, reject) => {
    const req = http.get(`${base}${PATH}?watch=true`, { agent, headers: { authorization: `Bearer ${token}`, accept: 'text/event-stream' } }, (res) => {
      const sse = res.statusCode === 200 && String(res.headers['content-type'] ?? '').startsWith('text/event-stream');
      if (!sse) {
        res.resume();
        resolve({ sse: false, status: res.statusCode, close: () => req.destroy() });
        return;
      }
      res.setEncoding('utf8');
      res.on('data', onText);
      res.on('error', () => undefined);
      resolve({ sse: true, close: () => req.destroy() });
    });
    req.on('error', reject);
  });
}

export async function run() {
  const url = `http://127.0.0.1:${await deadLoopbackPort()}/mcp`;
  const cp = await startServer({ dataDir: tempDir('watch') });
  const agent = new http.Agent({ keepAlive: true, maxSockets: S.watchers + 8 });
  try {
    const probe = await openWatch(cp.url, cp.token, agent, () => undefined);
    probe.close();
    if (!probe.sse) return skipped(`GET ?watch=true answered ${probe.status} without an event stream`);

    for (let i = 0; i < S.servers; i++) await expectOk(callJson(cp.url, cp.token, 'PUT', PATH, { manifest: manifest(i, { url }) }), `PUT ${i}`);
    await cp.waitQuiet();

    const sentAt = new Array(S.changes);
    const latencies = [];
    const seen = Array.from({ length: S.watchers }, () => new Set());
    const watchers = [];
    for (let w = 0; w < S.watchers; w++) {
      let tail = '';
      watchers.push(
        await openWatch(cp.url, cp.token, agent, (text) => {
          const now = performance.now();
          // A marker may be split across chunks: keep the end of the previous chunk.
          const joined = tail + text;
          tail = joined.slice(-40);
          for (const m of joined.matchAll(MARKER)) {
            const k = Number(m[1]);
            if (sentAt[k] === undefined || seen[w].has(k)) continue;
            seen[w].add(k);
            latencies.push(now - sentAt[k]);
          }
        }),
      );
    }
    await sleep(500); // every watcher past its initial list
    log(`${S.watchers} watchers open; sending ${S.changes} changes at ${S.ratePerSecond}/s`);

    const interval = 1000 / S.ratePerSecond;
    const t0 = performance.now();
    for (let k = 0; k < S.changes; k++) {
      const wait = t0 + k * interval - performance.now();
      if (wait > 0) await sleep(wait);
      const m = manifest(k % S.servers, { url });
      m.description = `bench-change-${k}-end`;
      sentAt[k] = performance.now();
      await expectOk(callJson(cp.url, cp.token, 'PUT', PATH, { manifest: m }), `change ${k}`);
    }
    const expected = S.changes * S.watchers;
    await waitFor(() => latencies.length >= expected, { timeoutMs: 60_000, what: `${expected} deliveries` }).catch(() => undefined);
    for (const w of watchers) w.close();
    const missing = expected - latencies.length;
    const l = summarize(latencies);
    return [
      {
        figure: 'watch-fanout',
        measured: `p50 ${fmt(l.p50)} ms, p99 ${fmt(l.p99)} ms, max ${fmt(l.max)} ms`,
        baseline: '–',
        goal: 'p99 ≤ 50 ms',
        met: missing === 0 && l.p99 <= 50,
        note: `${S.watchers} watchers × ${S.changes} changes at ${S.ratePerSecond}/s; ${fmt(latencies.length, 0)} deliveries${missing ? `, ${missing} MISSING` : ''}; from PUT sent to event read`,
      },
    ];
  } finally {
    agent.destroy();
    await cp.stop();
  }
}
