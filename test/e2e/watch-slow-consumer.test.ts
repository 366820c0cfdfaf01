// A watcher that stops reading never slows writers or other watchers: its bounded buffer overflows, its
// stream ends with an ERROR telling it where to resume, and resuming there loses and repeats nothing.
import { get, type IncomingMessage } from 'node:http';
import { ADMIN_TOKEN, remoteManifest, startTestControlPlane, waitFor, type TestControlPlane } from '../support/control-plane.js';
import { parseSse, WatchClient } from '../http/watch-client.js';

const SERVERS = '/api/svc/v1/mcp-servers';
const UPDATES = 40;
/** Each event carries this much, so a few MiB of events pile up behind the stalled reader quickly. */
const BLOB = 'x'.repeat(250_000);

/** A change event: a BOOKMARK (on a timer, here every second) repeats the id of the change before it. */
const isChange = (type: string) => type === 'ADDED' || type === 'MODIFIED' || type === 'DELETED';

/** A watch read with node:http, so pausing the response stops reading the socket (backpressure). */
function openStalled(url: string, resourceVersion: number): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const req = get(`${url}${SERVERS}?watch=true&resourceVersion=${resourceVersion}`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } }, (res) => {
      res.pause();
      resolve(res);
    });
    req.on('error', reject);
  });
}

function readAll(res: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    res.setEncoding('utf8');
    res.on('data', (chunk: string) => (text += chunk));
    res.on('end', () => resolve(text));
    res.on('error', reject);
    res.resume();
  });
}

describe('watch: a slow consumer', () => {
  let cp: TestControlPlane;
  beforeEach(async () => {
    cp = await startTestControlPlane({ args: ['--resync-interval', '0', '--write-rate-limit', 'off', '--watch-buffer', '5', '--watch-bookmark-interval', '1s'] });
  });
  afterEach(async () => {
    await cp.dispose();
  });

  it('is cut off with a resumable ERROR while writers and a fast watcher carry on', async () => {
    const start = await cp.store.currentResourceVersion();
    const stalled = await openStalled(cp.url, start);
    expect(stalled.statusCode).toBe(200);
    const fast = await WatchClient.open(cp.url, { resourceVersion: start });
    await waitFor(() => cp.watch.clientCount === 2, { what: 'two watchers' });

    // Every write completes while one watcher reads nothing at all.
    for (let n = 0; n < UPDATES; n++) {
      const res = await cp.api(SERVERS, { method: 'PUT', body: { manifest: remoteManifest({ name: 'big' }), metadata: { n, blob: BLOB } } });
      expect(res.status).toBe(200);
    }
    await fast.waitFor((e) => e.object?.metadata?.n === UPDATES - 1, { timeoutMs: 15_000, what: 'the last update at the fast watcher' });
    await waitFor(() => cp.watch.clientCount === 1, { timeoutMs: 15_000, what: 'the stalled watcher to be cut off' });
    expect(await cp.metrics.exposition()).toMatch(/^mcp_cp_watch_overflows_total 1$/m);

    // The stalled client reads what was sent before the cut, then the ERROR.
    const { events } = parseSse(await readAll(stalled));
    const last = events[events.length - 1]!;
    const error = JSON.parse(last.data);
    expect(error.type).toBe('ERROR');
    expect(error.object.reason).toBe('TooSlow');
    const before = events.slice(0, -1);
    const changesBefore = before.filter((e) => isChange(JSON.parse(e.data).type));
    // The ERROR sets no event id of its own: the stream's last event id stays that of the last event before it.
    expect(last.id).toBe(before[before.length - 1]!.id);
    expect(changesBefore.length).toBeLessThan(fast.events.filter((e) => isChange(e.type)).length);
    expect(error.object.resourceVersion).toBe(before[before.length - 1]!.id);
    expect(error.object.message).toMatch(new RegExp(`resourceVersion=${error.object.resourceVersion}`));

    // Resuming where it was cut off yields exactly what the fast watcher saw after that point.
    await cp.controller.waitForIdle();
    const end = await cp.store.currentResourceVersion();
    await fast.waitFor((e) => Number(e.id) === end, { timeoutMs: 15_000, what: `the fast watcher at ${end}` });
    const resumed = await WatchClient.open(cp.url, { lastEventId: error.object.resourceVersion });
    await resumed.waitFor((e) => Number(e.id) === end, { timeoutMs: 15_000, what: `the resumed watcher at ${end}` });
    // (Bounded by end: a late status change may still be on its way.) Changes only: bookmarks come on a timer.
    const upToEnd = (id: string | undefined) => Number(id) <= end;
    const seen = [...changesBefore.map((e) => e.id), ...resumed.events.filter((e) => isChange(e.type)).map((e) => e.id)].filter(upToEnd);
    expect(seen).toEqual(fast.events.filter((e) => isChange(e.type)).map((e) => e.id).filter(upToEnd));
    expect(seen).toEqual((await cp.store.changesSince(start, 10_000)).map((c) => String(c.resourceVersion)).filter(upToEnd));
    await resumed.close();
    await fast.close();
  }, 60_000);
});
