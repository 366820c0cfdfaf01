// rawSession's requests to an in-process gateway survive a stall of the test's event loop longer than the
// gateway keeps an idle connection (test/support/keep-alive-stall.test.ts says why a pooled one would not).
import { rawSession, startAnswerGateway, startAnswerUpstream, type AnswerGateway, type AnswerUpstream } from './answer-upstream.js';

/** Node's default http.Server keepAliveTimeout, which the test gateway keeps. */
const SERVER_KEEP_ALIVE_MS = 5000;

let upstream: AnswerUpstream;
let gateway: AnswerGateway;
beforeAll(async () => {
  upstream = await startAnswerUpstream({});
  gateway = await startAnswerGateway({ name: 'stall', upstreamUrl: upstream.url, token: 'raw-session-stall-token-0123456789' });
});
afterAll(async () => {
  await gateway.close();
  await upstream.close();
});

it('opens a session after a stall longer than the gateway keeps an idle connection', async () => {
  const first = await rawSession(gateway);
  expect((await first({ id: 1, method: 'ping' })).status).toBe(200);
  // The loop turns once more (the gateway done with the answer, its idle timer running), then stalls.
  await new Promise((resolve) => setImmediate(resolve));
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, SERVER_KEEP_ALIVE_MS + 1000);
  const second = await rawSession(gateway);
  expect((await second({ id: 2, method: 'ping' })).status).toBe(200);
}, 30_000);
