// Watch frames of a per-user server carry the watching caller's own authStatus (as GET answers it), in the
// snapshot, the replay and live; every other server's frames are the stored view, the same for everyone.
import { startTestControlPlane, type TestControlPlane } from '../support/control-plane.js';
import { startMcpServer, type RunningMcpServer } from '../support/mcp-servers.js';
import { ALICE_TOKEN, BOB_TOKEN, GATEWAY_TEST_ARGS, GATEWAY_TOOLS, putServer, testAuthenticators } from '../gateway/gateway-support.js';
import { waitFor } from '../support/wait-for.js';

interface WatchEvent {
  type: string;
  object: { name?: string; authStatus?: { status: string; method: string | null }; initialEventsEnd?: boolean; description?: string };
}

let cp: TestControlPlane;
let keyed: RunningMcpServer;
let open: RunningMcpServer;
const streams: AbortController[] = [];

beforeAll(async () => {
  keyed = await startMcpServer({ transport: 'streamable-http', tools: GATEWAY_TOOLS, requireHeader: { name: 'x-api-key', accept: (v) => v !== undefined && v.startsWith('k-') } });
  open = await startMcpServer({ transport: 'streamable-http', tools: GATEWAY_TOOLS });
  cp = await startTestControlPlane({ args: GATEWAY_TEST_ARGS, authenticators: testAuthenticators() });
  await putServer(cp, { name: 'keyed', url: keyed.url, auth_data: { type: 'header', auth_level: 'per_user', headers: { 'X-API-Key': 'k-{{PART}}' } } });
  await putServer(cp, { name: 'open', url: open.url });
  const set = await cp.api('/api/svc/v1/mcp-servers/name/keyed/credentials', { method: 'PUT', token: ALICE_TOKEN, body: { values: { PART: 'alice' } } });
  expect(set.status).toBe(200);
}, 60_000);
afterAll(async () => {
  for (const s of streams) s.abort();
  await cp?.dispose();
  await keyed?.close();
  await open?.close();
});

/** A watch as `token`; next() answers the next event (waiting for it). */
async function watch(token: string, query = ''): Promise<{ next(): Promise<WatchEvent> }> {
  const abort = new AbortController();
  streams.push(abort);
  const res = await fetch(`${cp.url}/api/svc/v1/mcp-servers?watch=true${query}`, { headers: { authorization: `Bearer ${token}` }, signal: abort.signal });
  expect(res.status).toBe(200);
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  return {
    async next() {
      for (;;) {
        const end = buffer.indexOf('\n\n');
        if (end >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const data = block.split('\n').find((l) => l.startsWith('data: '));
          if (data) return JSON.parse(data.slice(6)) as WatchEvent;
          continue;
        }
        const { value, done } = await reader.read();
        if (done) throw new Error('the watch ended');
        buffer += decoder.decode(value, { stream: true });
      }
    },
  };
}

/** The events up to the end of the snapshot, by server name. */
async function snapshotOf(w: { next(): Promise<WatchEvent> }): Promise<Map<string, WatchEvent>> {
  const seen = new Map<string, WatchEvent>();
  for (;;) {
    const e = await w.next();
    if (e.type === 'BOOKMARK' && e.object.initialEventsEnd) return seen;
    if (e.object.name) seen.set(e.object.name, e);
  }
}

/** The next event about server `name`. */
async function nextAbout(w: { next(): Promise<WatchEvent> }, name: string): Promise<WatchEvent> {
  for (;;) {
    const e = await w.next();
    if (e.object.name === name) return e;
  }
}

it("gives each caller their own authStatus of a per-user server, in the snapshot and live", async () => {
  const alice = await watch(ALICE_TOKEN);
  const bob = await watch(BOB_TOKEN);
  const [a, b] = await Promise.all([snapshotOf(alice), snapshotOf(bob)]);
  expect(a.get('keyed')!.object.authStatus).toMatchObject({ status: 'authenticated', method: 'header' });
  expect(b.get('keyed')!.object.authStatus).toMatchObject({ status: 'authentication_required', method: 'header' });
  // Not per-user: the stored view, the same for both.
  expect(a.get('open')!.object).toEqual(b.get('open')!.object);

  // Live: a change of the per-user server, then one of the other (its frame waits for nothing, and comes after).
  await putServer(cp, { name: 'keyed', url: keyed.url, description: 'changed', auth_data: { type: 'header', auth_level: 'per_user', headers: { 'X-API-Key': 'k-{{PART}}' } } });
  const [liveA, liveB] = await Promise.all([nextAbout(alice, 'keyed'), nextAbout(bob, 'keyed')]);
  expect(liveA.object.authStatus).toMatchObject({ status: 'authenticated', method: 'header' });
  expect(liveB.object.authStatus).toMatchObject({ status: 'authentication_required', method: 'header' });
});

it('gives the caller their own authStatus in a replay too', async () => {
  // The stored authStatus is from the discovery with Alice's values; Bob has set none. Discoveries start
  // after the writes pause (answers first), so the one of the latest generation is waited for.
  const discovered = async () => {
    const stored = (await cp.api('/api/svc/v1/mcp-servers/name/keyed')).json.data;
    return stored.status.conditions.find((c: { type: string; status: string }) => c.type === 'Discovered' && c.status === 'True');
  };
  expect(await waitFor(discovered, { what: 'keyed Discovered=True' })).toMatchObject({ status: 'True' });
  const bob = await watch(BOB_TOKEN, '&resourceVersion=0');
  const e = await nextAbout(bob, 'keyed');
  expect(e.object.authStatus).toMatchObject({ status: 'authentication_required', method: 'header' });
});
