// The test process is client and server at once: its requests and the in-process servers' keep-alive timers
// share one event loop. Normally fetch retires an idle pooled connection first (the server's Keep-Alive hint,
// 5 s by Node's default, less 2 s). When that loop stalls (a busy machine, a long GC) past both, the next
// request goes out on the idle connection before either timer runs, and the server's, run before the server
// reads it, closes that connection with the request unread: the kernel answers with a reset ("fetch failed",
// cause "read ECONNRESET", as CI saw on a busy machine between two requests of one test). The helpers'
// requests never reuse a connection, so a stall only makes them slower.
import { startTestControlPlane, type TestControlPlane } from './control-plane.js';

/** Blocks this thread's event loop, as a starved or collecting process does: no timer or socket runs meanwhile. */
function stallEventLoop(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** Node's default http.Server keepAliveTimeout, which the control plane's server keeps. */
const SERVER_KEEP_ALIVE_MS = 5000;

let cp: TestControlPlane | undefined;
afterEach(async () => {
  await cp?.dispose();
  cp = undefined;
});

it('api() answers the request after a stall longer than the server keeps an idle connection', async () => {
  cp = await startTestControlPlane();
  expect((await cp.api('/readyz', { token: null })).status).toBe(200);
  // The loop turns once more (the server done with the answer, its idle timer running), then stalls.
  await new Promise((resolve) => setImmediate(resolve));
  stallEventLoop(SERVER_KEEP_ALIVE_MS + 1000);
  expect((await cp.api('/readyz', { token: null })).status).toBe(200);
}, 30_000);
