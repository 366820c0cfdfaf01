// The watch stream through the real server: list-then-watch, replay, resume, 410, bookmarks, filtering.
import { isDeepStrictEqual } from 'node:util';
import { StaticTokenAuthenticator } from '../../src/auth/authenticator.js';
import { remoteManifest, startTestControlPlane, waitFor, type TestControlPlane } from '../support/control-plane.js';
import { startMcpServer, type RunningMcpServer } from '../support/mcp-servers.js';
import { WatchClient, type WatchEventSeen } from '../http/watch-client.js';
import { userPrincipal } from '../support/principals.js';

const SERVERS = '/api/svc/v1/mcp-servers';
const VIEWER_TOKEN = 'viewer-token-0123456789abcdef';
const viewer = userPrincipal('alice', 'viewer', 'Alice');
const PRIVATE = [{ subject: 'user:bob', role_id: 'mcp-server-manager' }];
const EVERYONE = [{ subject: 'team:everyone', role_id: 'mcp-server-user' }];

let upstream: RunningMcpServer;
beforeAll(async () => {
  upstream = await startMcpServer({ transport: 'streamable-http', tools: 2 });
});
afterAll(async () => {
  await upstream.close();
});

const ids = (events: WatchEventSeen[]) => events.filter((e) => e.type !== 'BOOKMARK').map((e) => Number(e.id));

async function put(cp: TestControlPlane, overrides: Record<string, unknown>) {
  const res = await cp.api(SERVERS, { method: 'PUT', body: { manifest: remoteManifest(overrides) } });
  expect(res.status).toBe(200);
  return res.json.data;
}

async function ready(cp: TestControlPlane, name: string) {
  return waitFor(async () => {
    const res = await cp.api(`${SERVERS}/name/${name}`);
    const c = res.json.data.status.conditions.find((x: { type: string }) => x.type === 'Ready');
    return c?.status === 'True' && res.json.data.status.observedGeneration === res.json.data.generation ? res.json.data : undefined;
  }, { what: `${name} Ready` });
}

describe('watch: GET /api/svc/v1/mcp-servers?watch=true', () => {
  let cp: TestControlPlane;
  const clients: WatchClient[] = [];
  const open = async (options: Parameters<typeof WatchClient.open>[1] = {}) => {
    const c = await WatchClient.open(cp.url, options);
    clients.push(c);
    return c;
  };
  beforeEach(async () => {
    cp = await startTestControlPlane({
      args: ['--resync-interval', '0', '--write-rate-limit', 'off'],
      authenticators: [new StaticTokenAuthenticator(VIEWER_TOKEN, viewer)],
    });
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
    await cp.dispose();
  });

  it('starts with the current objects as ADDED, then streams changes; status changes are MODIFIED; objects are presented like GET', async () => {
    // Both reachable and Ready before the list, so nothing writes while the stream starts: the bookmark's id
    // is then exactly the current resourceVersion. (An unreachable server's status keeps moving, Discovering
    // to Unreachable to its retries, and may land between the list and the read of the counter.)
    await put(cp, { name: 'alpha', url: upstream.url });
    await put(cp, { name: 'bravo', url: upstream.url });
    await ready(cp, 'alpha');
    await ready(cp, 'bravo');
    const w = await open();
    expect(w.status).toBe(200);
    expect(w.contentType).toMatch(/^text\/event-stream/);
    const end = await w.waitFor((e) => e.type === 'BOOKMARK' && e.object.initialEventsEnd === true, { what: 'the end of the initial list' });
    const initial = w.events.slice(0, w.events.indexOf(end));
    expect(initial.map((e) => [e.type, e.object.name]).sort()).toEqual([['ADDED', 'alpha'], ['ADDED', 'bravo']]);
    for (const e of initial) expect(e.id).toBe(e.object.resourceVersion);
    // Oldest first, so every id is a resume point.
    expect(ids(initial)).toEqual([...ids(initial)].sort((a, b) => a - b));
    expect(Number(end.id)).toBe((await cp.store.currentResourceVersion()));

    // A spec change, then the reconciler's status change, both MODIFIED.
    const from = w.events.length;
    await put(cp, { name: 'alpha', url: upstream.url, description: 'Changed' });
    const updated = await w.waitFor((e) => e.type === 'MODIFIED' && e.object.manifest.description === 'Changed', { from, what: 'the update' });
    expect(updated.object.generation).toBe(2);
    const readyAgain = await w.waitFor(
      (e) => e.type === 'MODIFIED' && e.object.status.observedGeneration === 2 && e.object.status.conditions.some((c: { type: string; status: string }) => c.type === 'Ready' && c.status === 'True'),
      { from, what: 'the status change to Ready at generation 2' },
    );
    // The latest event of alpha is exactly what GET answers at that resourceVersion.
    const [latest, got] = await waitFor(
      async () => {
        const res = await cp.api(`${SERVERS}/name/alpha`);
        const last = [...w.events].reverse().find((e) => e.object.name === 'alpha');
        return last && last.object.resourceVersion === res.json.data.resourceVersion ? ([last, res.json.data] as const) : undefined;
      },
      { what: 'the stream and GET at the same resourceVersion' },
    );
    expect(latest.object).toEqual(got);
    expect(Number(readyAgain.id)).toBeGreaterThan(Number(updated.id));

    await cp.api(`${SERVERS}/name/bravo`, { method: 'DELETE' });
    const deleted = await w.waitFor((e) => e.type === 'DELETED', { from, what: 'DELETED' });
    expect(deleted.object.name).toBe('bravo');
    // Ids only ever grow.
    const all = ids(w.events.slice(initial.length));
    expect(all).toEqual([...all].sort((a, b) => a - b));
  });

  it('replays every change after resourceVersion, and a resumed stream neither misses nor repeats an event', async () => {
    const start = await cp.store.currentResourceVersion();
    const a = await open({ resourceVersion: start });
    await put(cp, { name: 'one' });
    await put(cp, { name: 'two' });
    await put(cp, { name: 'one', description: 'One, changed' });
    await cp.api(`${SERVERS}/name/two`, { method: 'DELETE' });
    await put(cp, { name: 'three', url: upstream.url });
    await ready(cp, 'three');
    await cp.controller.waitForIdle();
    const end = await cp.store.currentResourceVersion();
    await a.waitFor((e) => Number(e.id) === end, { what: `the change at ${end}` });
    // Admin sees every change in the changelog, once, in order.
    // (Bounded by end: a late status change may still be on its way.)
    const upToEnd = (e: WatchEventSeen) => Number(e.id) <= end;
    const changelog = (await cp.store.changesSince(start, 1000)).map((c) => c.resourceVersion).filter((rv) => rv <= end);
    expect(ids(a.events.filter(upToEnd))).toEqual(changelog);
    expect(a.events.find((e) => e.type === 'DELETED')?.object.name).toBe('two');

    // Resume after each point, by query and by Last-Event-ID: exactly the rest.
    for (const k of [0, 2, Math.floor(a.events.length / 2), a.events.length - 2]) {
      const cut = a.events[k]!;
      const byQuery = await open({ resourceVersion: cut.id! });
      const byHeader = await open({ lastEventId: cut.id!, resourceVersion: start });
      const rest = a.events.slice(k + 1).filter(upToEnd);
      for (const b of [byQuery, byHeader]) {
        await b.waitFor((e) => Number(e.id) === end, { what: `the change at ${end} after resuming at ${cut.id}` });
        expect(b.events.filter(upToEnd).map((e) => [e.id, e.type, e.object])).toEqual(rest.map((e) => [e.id, e.type, e.object]));
      }
    }
  });

  it('resumes from any id of the initial list: the resumed stream completes the picture', async () => {
    for (const name of ['s1', 's2', 's3', 's4', 's5']) await put(cp, { name });
    await put(cp, { name: 's2', description: 'changed' });
    const full = await open();
    await full.waitFor((e) => e.object.initialEventsEnd === true);
    const listed = full.events.filter((e) => e.type === 'ADDED');
    expect(listed).toHaveLength(5);
    // Disconnect after the second object: the rest must come from the changelog.
    await put(cp, { name: 's6' });
    await cp.api(`${SERVERS}/name/s1`, { method: 'DELETE' });
    const cut = listed[1]!;
    const resumed = await open({ lastEventId: cut.id! });
    const now = await cp.store.currentResourceVersion();
    await resumed.waitFor((e) => Number(e.id) === now);
    const picture = () => {
      const state = new Map<string, unknown>();
      for (const e of [...listed.slice(0, 2), ...resumed.events]) {
        if (e.type === 'DELETED') state.delete(e.object.name);
        else if (e.type !== 'BOOKMARK') state.set(e.object.name, e.object.resourceVersion);
      }
      return Object.fromEntries(state);
    };
    const current = async () => Object.fromEntries(((await cp.api(SERVERS)).json.data as { name: string; resourceVersion: string }[]).map((s) => [s.name, s.resourceVersion]));
    // The reconciler keeps writing status (the upstreams are unreachable): compare at a moment when the
    // stream has caught up with the list.
    await waitFor(async () => isDeepStrictEqual(picture(), await current()), { what: 'the resumed picture to match the list' });
  });

  it('answers 410 Gone for a resourceVersion outside the kept history, telling the client to list and watch again', async () => {
    await put(cp, { name: 'alpha' });
    const future = await open({ resourceVersion: (await cp.store.currentResourceVersion()) + 100 });
    expect(future.status).toBe(410);
    expect(JSON.parse(future.body!).error).toMatchObject({ code: 'Expired' });
    expect(JSON.parse(future.body!).error.message).toMatch(/List the servers and watch again without resourceVersion/);
    const bad = await open({ resourceVersion: 'abc' });
    expect(bad.status).toBe(400);
    const badHeader = await open({ lastEventId: '12x' });
    expect(badHeader.status).toBe(400);
    const listParams = await cp.api(`${SERVERS}?watch=true&limit=5`);
    expect(listParams.status).toBe(400);
    // watch=false is the ordinary list.
    expect((await cp.api(`${SERVERS}?watch=false`)).json.pagination.total).toBe(1);
  });

  it('shows each caller only what it may read; an object that becomes unreadable is DELETED for it', async () => {
    await put(cp, { name: 'public' });
    await put(cp, { name: 'private', collaborators: PRIVATE });
    const alice = await open({ token: VIEWER_TOKEN });
    const admin = await open();
    await alice.waitFor((e) => e.object.initialEventsEnd === true);
    await admin.waitFor((e) => e.object.initialEventsEnd === true);
    expect(alice.events.filter((e) => e.type === 'ADDED').map((e) => e.object.name)).toEqual(['public']);
    expect(admin.events.filter((e) => e.type === 'ADDED').map((e) => e.object.name).sort()).toEqual(['private', 'public']);

    const from = alice.events.length;
    await put(cp, { name: 'private', collaborators: PRIVATE, description: 'still private' });
    await put(cp, { name: 'private', collaborators: EVERYONE, description: 'now shared' });
    const shared = await alice.waitFor((e) => e.object.name === 'private', { from, what: 'private becoming readable' });
    expect(shared.type).toBe('ADDED');
    expect(shared.object.manifest.description).toBe('now shared');
    await put(cp, { name: 'private', collaborators: PRIVATE, description: 'private again' });
    const gone = await alice.waitFor((e) => e.type === 'DELETED', { from, what: 'private becoming unreadable' });
    expect(gone.object).toEqual({ id: shared.object.id, fqn: shared.object.fqn, name: 'private', resourceVersion: gone.id });
    await put(cp, { name: 'public', description: 'public, changed' });
    await alice.waitFor((e) => e.object.manifest?.description === 'public, changed', { from });
    // Nothing of the private server's other states reached alice.
    const seen = JSON.stringify(alice.events);
    expect(seen).not.toContain('still private');
    expect(seen).not.toContain('private again');
    expect(admin.events.some((e) => e.object.manifest?.description === 'private again')).toBe(true);
  });
});

describe('watch: bookmarks', () => {
  it('sends a BOOKMARK with the latest resourceVersion at the configured interval', async () => {
    const cp = await startTestControlPlane({ args: ['--resync-interval', '0', '--watch-bookmark-interval', '100ms'] });
    const w = await WatchClient.open(cp.url, { resourceVersion: (await cp.store.currentResourceVersion()) });
    try {
      const first = await w.waitFor((e) => e.type === 'BOOKMARK', { what: 'a bookmark' });
      expect(first.object).toEqual({ resourceVersion: String((await cp.store.currentResourceVersion())) });
      expect(first.id).toBe(first.object.resourceVersion);
      await cp.api(SERVERS, { method: 'PUT', body: { manifest: remoteManifest({ name: 'alpha' }) } });
      const rv = await cp.store.currentResourceVersion();
      const later = await w.waitFor((e) => e.type === 'BOOKMARK' && Number(e.id) >= rv, { what: `a bookmark at ${rv} or later` });
      expect(later.object.resourceVersion).toBe(later.id);
      // A client resuming from a bookmark gets only what followed it.
      const resumed = await WatchClient.open(cp.url, { lastEventId: later.id! });
      await cp.api(SERVERS, { method: 'PUT', body: { manifest: remoteManifest({ name: 'bravo' }) } });
      // alpha's status may still change after the bookmark (its upstream is unreachable): those changes
      // follow it too. Nothing at or before the bookmark comes again.
      const next = await resumed.waitFor((e) => e.type !== 'BOOKMARK' && e.object.name === 'bravo', { what: 'bravo after the bookmark' });
      expect(next.type).toBe('ADDED');
      for (const e of resumed.events) expect(Number(e.id)).toBeGreaterThan(Number(later.id));
      await resumed.close();
    } finally {
      await w.close();
      await cp.dispose();
    }
  });
});
