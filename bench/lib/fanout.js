// Watch fan-out, measured: watchers on GET /api/svc/v1/mcp-servers?watch=true (SSE) on some servers,
// paced PUTs of new revisions to one server; the delivery latency of each change to each watcher, from
// the moment its PUT was sent to the moment the watcher read the event. A change is recognised by a marker
// in the description, so the event format does not matter. Used by watch-fanout (one process) and
// pg-watch-fanout (a write on one replica, watchers on the others).
import http from 'node:http';
import { log, sleep, waitFor } from './common.js';
import { callJson, expectOk } from './http.js';
import { manifest } from './manifests.js';
import { summarize } from './stats.js';

const PATH = '/api/svc/v1/mcp-servers';
const MARKER = /bench-change-(\d+)-end/g;

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

/** Whether the server answers ?watch=true with an event stream: undefined if so, else why not. */
export async function watchUnavailable(server) {
  const agent = new http.Agent();
  try {
    const probe = await openWatch(server.url, server.token, agent, () => undefined);
    probe.close();
    return probe.sse ? undefined : `GET ?watch=true answered ${probe.status} without an event stream`;
  } finally {
    agent.destroy();
  }
}

/**
 * @param {object} o
 * @param {{ url: string, token: string }} o.writer where the PUTs go (and the servers are created)
 * @param {{ url: string, token: string }[]} o.watchOn watchers are spread over these, round-robin
 * @param {{ watchers: number, changes: number, servers: number, ratePerSecond: number }} o.sizes
 * @param {string} o.upstream the servers' URL
 * @param {() => Promise<void>} [o.quiet] waits for the servers to settle after the creates
 * Answers { latencies: summary, deliveries, missing }.
 */
export async function measureFanout({ writer, watchOn, sizes: S, upstream, quiet }) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: S.watchers + 8 });
  const watchers = [];
  try {
    for (let i = 0; i < S.servers; i++) await expectOk(callJson(writer.url, writer.token, 'PUT', PATH, { manifest: manifest(i, { url: upstream }) }), `PUT ${i}`);
    await quiet?.();
    const sentAt = new Array(S.changes);
    const latencies = [];
    const seen = Array.from({ length: S.watchers }, () => new Set());
    for (let w = 0; w < S.watchers; w++) {
      let tail = '';
      const on = watchOn[w % watchOn.length];
      watchers.push(
        await openWatch(on.url, on.token, agent, (text) => {
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
    log(`${S.watchers} watchers open on ${watchOn.length} server(s); sending ${S.changes} changes at ${S.ratePerSecond}/s`);

    const interval = 1000 / S.ratePerSecond;
    const t0 = performance.now();
    for (let k = 0; k < S.changes; k++) {
      const wait = t0 + k * interval - performance.now();
      if (wait > 0) await sleep(wait);
      const m = manifest(k % S.servers, { url: upstream });
      m.description = `bench-change-${k}-end`;
      sentAt[k] = performance.now();
      await expectOk(callJson(writer.url, writer.token, 'PUT', PATH, { manifest: m }), `change ${k}`);
    }
    const expected = S.changes * S.watchers;
    await waitFor(() => latencies.length >= expected, { timeoutMs: 60_000, what: `${expected} deliveries` }).catch(() => undefined);
    return { latencies: summarize(latencies), deliveries: latencies.length, missing: expected - latencies.length };
  } finally {
    for (const w of watchers) w.close();
    agent.destroy();
  }
}
