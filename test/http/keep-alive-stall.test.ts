// The public listener keeps an idle connection longer than its clients do (PUBLIC_KEEP_ALIVE_MS, 65 s): a
// client reusing a pooled connection never meets one the server is closing. Here the client and the server
// share one event loop, which stalls (a busy machine, a long GC) past Node's default keep-alive timeout (5 s):
// with that default, the server's timer ran before the server read the request on the reused connection and
// closed it with the request unread ("fetch failed", cause "read ECONNRESET").
import { PUBLIC_KEEP_ALIVE_MS } from '../../src/gateway/host/control-proxy.js';
import { startTestControlPlane, type TestControlPlane } from '../support/control-plane.js';

/** Blocks this thread's event loop, as a starved or collecting process does: no timer or socket runs meanwhile. */
function stallEventLoop(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** Node's default http.Server keepAliveTimeout. */
const NODE_DEFAULT_KEEP_ALIVE_MS = 5000;

let cp: TestControlPlane | undefined;
afterEach(async () => {
  await cp?.dispose();
  cp = undefined;
});

it('answers a request on a reused connection after a stall longer than Node keeps an idle one', async () => {
  expect(PUBLIC_KEEP_ALIVE_MS).toBeGreaterThan(NODE_DEFAULT_KEEP_ALIVE_MS + 1000);
  cp = await startTestControlPlane();
  // fetch's own pool, keep-alive on (not api(), whose requests each take a connection of their own).
  const first = await fetch(`${cp.url}/readyz`);
  expect(first.status).toBe(200);
  await first.text();
  // The loop turns once more (the server done with the answer, its idle timer running), then stalls.
  await new Promise((resolve) => setImmediate(resolve));
  stallEventLoop(NODE_DEFAULT_KEEP_ALIVE_MS + 1000);
  const again = await fetch(`${cp.url}/readyz`);
  expect(again.status).toBe(200);
}, 30_000);
