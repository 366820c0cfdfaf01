// Events belong to one resource (its id), not to a name: a name deleted and created again by another
// account starts with no history, and every event read is filtered by what the reader may read.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { remoteManifest, startTestControlPlane, type TestControlPlane } from '../support/control-plane.js';
import { writeTokensFile } from './support.js';

const API = '/api/svc/v1/mcp-servers';
const EVENTS = '/api/svc/v1/events';
const ALICE = 'alice-token-event-tenancy-0123456789';
const BOB = 'bob-token-event-tenancy-0123456789';
const A_URL = 'http://127.0.0.1:9/alice-private-path';
const A_DESCRIPTION = 'alice-private-description';

describe('event history and name reuse', () => {
  let cp: TestControlPlane;
  let dir: string;
  let aliceId: string;
  let bobId: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'mcp-event-tenancy-'));
    writeTokensFile(join(dir, 'tokens.yaml'), [
      { token: ALICE, subject: 'user:alice@example.com', role: 'editor', accounts: ['acct-a'] },
      { token: BOB, subject: 'user:bob@example.com', role: 'editor', accounts: ['acct-b'] },
    ]);
    cp = await startTestControlPlane({ args: ['--tokens-file', join(dir, 'tokens.yaml'), '--resync-interval', '0'] });

    // Alice's server, changed once (the Updated event names the old and new url and description), then deleted.
    const mine = [{ subject: 'user:alice@example.com', role_id: 'mcp-server-manager' }];
    const first = await cp.api(API, { method: 'PUT', token: ALICE, body: { manifest: remoteManifest({ name: 'reused', collaborators: mine }) } });
    expect(first.status).toBe(200);
    aliceId = first.json.data.id;
    const second = await cp.api(API, {
      method: 'PUT',
      token: ALICE,
      body: { manifest: remoteManifest({ name: 'reused', url: A_URL, description: A_DESCRIPTION, collaborators: mine }) },
    });
    expect(second.status).toBe(200);
    const aliceEvents = await cp.api(`${API}/${aliceId}/events`, { token: ALICE });
    expect(aliceEvents.text).toContain(A_URL);
    expect((await cp.api(`${API}/name/reused`, { method: 'DELETE', token: ALICE })).status).toBe(200);

    // Bob creates the same name in his account.
    const bobs = [{ subject: 'user:bob@example.com', role_id: 'mcp-server-manager' }];
    const created = await cp.api(API, { method: 'PUT', token: BOB, body: { manifest: remoteManifest({ name: 'reused', collaborators: bobs }) } });
    expect(created.status).toBe(200);
    bobId = created.json.data.id;
    expect(bobId).not.toBe(aliceId);
  });
  afterAll(async () => {
    await cp.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  it("shows Bob only his own server's events under its id", async () => {
    const res = await cp.api(`${API}/${bobId}/events`, { token: BOB });
    expect(res.status).toBe(200);
    expect(res.json.data.length).toBeGreaterThan(0);
    for (const e of res.json.data) expect(e.subject.id).toBe(bobId);
    expect(res.json.data[0].reason).toBe('Created');
    expect(res.text).not.toContain(A_URL);
    expect(res.text).not.toContain(A_DESCRIPTION);
  });

  it("keeps Alice's history out of Bob's event list", async () => {
    const res = await cp.api(`${EVENTS}?limit=1000`, { token: BOB });
    expect(res.status).toBe(200);
    expect(res.json.data.length).toBeGreaterThan(0);
    for (const e of res.json.data) expect(e.subject.id).toBe(bobId);
    expect(res.text).not.toContain(A_URL);
    expect(res.text).not.toContain(A_DESCRIPTION);
  });

  it("shows Alice no event of Bob's server, which she may not read", async () => {
    const res = await cp.api(`${EVENTS}?limit=1000`, { token: ALICE });
    expect(res.status).toBe(200);
    for (const e of res.json.data) expect(e.subject.id).not.toBe(bobId);
    expect((await cp.api(`${API}/${bobId}/events`, { token: ALICE })).status).toBe(404);
  });

  it('keeps the history of the deleted server for a tenant admin, under its own id', async () => {
    const res = await cp.api(`${EVENTS}?limit=1000`);
    const alices = res.json.data.filter((e: { subject: { id: string } }) => e.subject.id === aliceId);
    expect(alices.map((e: { reason: string }) => e.reason)).toEqual(expect.arrayContaining(['Created', 'Updated', 'Deleted']));
    expect(JSON.stringify(alices)).toContain(A_URL);
  });

  it('fills a reader\'s page with events they may read, past newer events they may not', async () => {
    // Newer events of a server Bob cannot read must not push his own out of a small page.
    const admins = [{ subject: 'user:admin', role_id: 'mcp-server-manager' }];
    for (let i = 0; i < 5; i++) {
      const res = await cp.api(API, { method: 'PUT', body: { manifest: remoteManifest({ name: 'admin-only', description: `change ${i}`, collaborators: admins }) } });
      expect(res.status).toBe(200);
    }
    const res = await cp.api(`${EVENTS}?limit=2`, { token: BOB });
    expect(res.json.data.length).toBe(2);
    for (const e of res.json.data) expect(e.subject.id).toBe(bobId);
  });
});
