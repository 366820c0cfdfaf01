// put, put-unchanged and dry-run: PUT /api/svc/v1/mcp-servers with 1,000 distinct manifests
// round-robin over 32 connections, against a bare express 5 route that parses the same JSON and
// answers it (a process of its own, like the control plane). Baseline and control plane alternate
// for a few rounds; each figure is the median round.
import { SMOKE, log, tempDir } from './common.js';
import { spawnNode } from './child.js';
import { assertClean, callJson, deadLoopbackPort, expectOk, load } from './http.js';
import { putBody } from './manifests.js';
import { startServer } from './server.js';
import { fmt, median } from './stats.js';
import { join } from 'node:path';
import { ROOT } from './common.js';

const PATH = '/api/svc/v1/mcp-servers';

export const PUT_SETTINGS = SMOKE
  ? { servers: 20, connections: 4, amount: 200, rounds: 1 }
  : { servers: 1000, connections: 32, duration: 5, rounds: 3 };

/** Creates servers 0..n-1 (rev 0) through the API, 16 at a time. */
export async function createServers(cp, n, url) {
  let next = 0;
  const worker = async () => {
    while (next < n) {
      const i = next++;
      await expectOk(callJson(cp.url, cp.token, 'PUT', PATH, putBody(i, { url })), `PUT server ${i}`);
    }
  };
  await Promise.all(Array.from({ length: 16 }, worker));
}

/**
 * mode 'update': every request carries a new revision of its manifest (an UPDATE: generation, row,
 *   changelog, event, reconcile); 'unchanged': the stored manifests again; 'dry-run': new revisions
 *   with dryRun: true (a plan with its diff, nothing written).
 */
export async function putFigure(mode) {
  const s = PUT_SETTINGS;
  const url = `http://127.0.0.1:${await deadLoopbackPort()}/mcp`;
  const cp = await startServer({ dataDir: tempDir('put') });
  log(`control plane pid ${cp.pid} at ${cp.url}; creating ${s.servers} servers`);
  await createServers(cp, s.servers, url);
  await cp.waitQuiet();
  const baseline = await spawnNode(join(ROOT, 'bench', 'lib', 'baseline-server.js'), ['echo']);
  const baseUrl = await baseline.url();

  // Bodies are made on the fly so that 'update' never repeats a revision; both targets get the same sequence.
  const bodies = (() => {
    let k = 0;
    const n = s.servers;
    const make = () => {
      const i = k % n;
      const rev = mode === 'unchanged' ? 0 : Math.floor(k / n) + 1;
      k++;
      return putBody(i, { url, rev, dryRun: mode === 'dry-run' });
    };
    return { make, reset: () => void (k = 0) };
  })();
  const run = async (target, token) => {
    // 'update' continues the revision sequence across rounds; the others start over.
    if (mode !== 'update') bodies.reset();
    const r = await load({
      url: `${target}${PATH}`,
      method: 'PUT',
      token,
      makeBody: bodies.make,
      connections: s.connections,
      ...(s.amount ? { amount: s.amount } : { duration: s.duration }),
    });
    assertClean(r, `${mode} against ${target}`);
    return r;
  };

  const base = [];
  const mine = [];
  for (let round = 0; round < s.rounds; round++) {
    base.push(await run(baseUrl, undefined));
    mine.push(await run(cp.url, cp.token));
    log(`round ${round + 1}: baseline ${fmt(base.at(-1).rps)} req/s, control plane ${fmt(mine.at(-1).rps)} req/s (p99 ${fmt(mine.at(-1).p99)} ms)`);
    if (mode === 'update') await cp.waitQuiet({ timeoutMs: 120_000 });
  }
  // A sanity check that the mode did what it says.
  const check = await callJson(cp.url, cp.token, 'GET', `${PATH}/name/bench-000000`);
  const generation = check.json?.data?.generation;
  await baseline.stop();
  await cp.stop();
  const pick = (runs) => {
    const rps = median(runs.map((r) => r.rps));
    const chosen = runs.find((r) => r.rps === rps) ?? runs[0];
    return { rps, p50: chosen.p50, p99: chosen.p99, total: runs.reduce((a, r) => a + r.total, 0) };
  };
  return { base: pick(base), mine: pick(mine), generation, settings: s };
}
