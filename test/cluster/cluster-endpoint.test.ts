// GET /api/svc/v1/cluster, mcpctl get cluster and the cluster metrics on the embedded store (one replica,
// always the leader), and the PostgreSQL view read from a real lease row and replicas table.
import pg from 'pg';
import { StaticTokenAuthenticator } from '../../src/auth/authenticator.js';
import { runGet } from '../../src/cli/get.js';
import { postgresClusterView } from '../../src/cluster/cluster-view.js';
import { acquireLease, releaseLease } from '../../src/cluster/lease.js';
import { heartbeat } from '../../src/cluster/replicas.js';
import { packageVersion } from '../../src/http/openapi.js';
import { connect } from '../../src/store/postgres/connection.js';
import { migrate } from '../../src/store/postgres/migrations.js';
import { ALICE, ALICE_TOKEN } from '../gateway/gateway-support.js';
import { workspace, type Workspace } from '../cli/cli-support.js';
import { FakeClock } from '../support/fake-clock.js';
import { ADMIN_TOKEN, startTestControlPlane, type TestControlPlane } from '../support/control-plane.js';
import { POSTGRES_START_TIMEOUT_MS, requirePostgres, testPostgres } from '../support/postgres.js';

const CLUSTER = '/api/svc/v1/cluster';

describe('the cluster on the embedded store', () => {
  // The fake clock stands still at the test's start, so the CLI's ages below stay in seconds.
  const started = Date.now();
  let cp: TestControlPlane;
  let ws: Workspace;
  beforeAll(async () => {
    cp = await startTestControlPlane({ clock: new FakeClock(started), authenticators: [new StaticTokenAuthenticator(ALICE_TOKEN, ALICE)] });
    ws = workspace();
  });
  afterAll(async () => {
    await cp.dispose();
    ws.dispose();
  });

  it('answers one replica, itself, the leader at epoch 1, to an admin only', async () => {
    const res = await cp.api(CLUSTER);
    expect(res.status).toBe(200);
    const self = res.json.self.id as string;
    expect(self).toMatch(new RegExp(`-${process.pid}-[0-9a-f]{8}$`));
    // It leads since it started, by the control plane's clock.
    expect(res.json.leader).toEqual({ id: self, epoch: 1, since: new Date(started).toISOString() });
    expect(res.json.replicas).toEqual([{ id: self, url: cp.url, version: packageVersion(), leader: true, lastSeen: expect.any(String), live: true }]);

    const viewer = await cp.api(CLUSTER, { token: ALICE_TOKEN });
    expect(viewer.status).toBe(403);
    expect(viewer.json.error.message).toMatch(/admin token/);
    expect((await cp.api(CLUSTER, { token: null })).status).toBe(401);
  });

  it('mcpctl get cluster shows it as a table, JSON and YAML', async () => {
    const env = { MCPCTL_SERVER: cp.url, MCPCTL_TOKEN: ADMIN_TOKEN };
    const self = (await cp.api(CLUSTER)).json.self.id as string;
    const table = await ws.run(runGet, ['cluster'], env);
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(new RegExp(`^Leader: ${self} \\(epoch 1, for \\d+s\\)\\n`));
    expect(table.stdout).toMatch(/REPLICA +ROLE +URL +VERSION +LAST SEEN/);
    expect(table.stdout).toMatch(new RegExp(`${self} \\(this\\) +leader +${cp.url} +${packageVersion()} +\\d+s ago`));
    const json = await ws.run(runGet, ['cluster', '-o', 'json'], env);
    expect(JSON.parse(json.stdout)).toMatchObject({ self: { id: self }, leader: { id: self, epoch: 1 } });
    const yaml = await ws.run(runGet, ['cluster', '-o', 'yaml'], env);
    expect(yaml.stdout).toContain(`self:\n  id: ${self}\n`);
    const denied = await ws.run(runGet, ['cluster'], { MCPCTL_SERVER: cp.url, MCPCTL_TOKEN: ALICE_TOKEN });
    expect(denied.code).toBe(1);
    expect(denied.stderr).toMatch(/admin token/);
    expect((await ws.run(runGet, ['cluster', 'extra'], env)).code).toBe(2);
  });

  it('exports the leader gauge, one lease transition and a fresh renewal', async () => {
    const text = (await cp.api('/metrics')).text;
    expect(text).toMatch(/^mcp_cp_leader 1$/m);
    expect(text).toMatch(/^mcp_cp_lease_transitions_total 1$/m);
    expect(text).toMatch(/^mcp_cp_lease_last_renewal_age_seconds 0$/m);
  });

  it('is listed in /openapi.json as an admin route', async () => {
    const doc = (await cp.api('/openapi.json')).json;
    expect(doc.paths[CLUSTER].get.responses['403']).toBeDefined();
    expect(doc.components.schemas.ClusterStatus.required).toEqual(['self', 'leader', 'replicas']);
  });
});

const { describe: describePg } = requirePostgres();

describePg('the cluster view on PostgreSQL', () => {
  beforeAll(() => testPostgres(), POSTGRES_START_TIMEOUT_MS);
  let db: pg.Pool;
  beforeEach(async () => {
    db = connect((await (await testPostgres()).freshSchema()).url);
    await migrate(db);
  });
  afterEach(() => db.end());

  it('names the lease holder as leader with its epoch, and every replica with its heartbeat', async () => {
    await heartbeat(db, { id: 'r1', url: 'http://127.0.0.1:1', version: '1.0.0' });
    await heartbeat(db, { id: 'r2', url: 'http://127.0.0.1:2', version: '1.1.0' });
    await db.query("UPDATE replicas SET last_seen = last_seen - interval '1 hour' WHERE id = 'r2'");
    const view = postgresClusterView({ db, selfId: 'r2', leaseName: 'controller', staleAfterMs: 15_000 });
    expect((await view.status()).leader).toBeNull();

    expect(await acquireLease(db, { name: 'controller', holder: 'r1', durationMs: 60_000 })).toBe(1);
    const status = await view.status();
    expect(status.self).toEqual({ id: 'r2' });
    expect(status.leader).toEqual({ id: 'r1', epoch: 1, since: expect.any(String) });
    expect(status.replicas.map(({ id, url, version, leader, live }) => ({ id, url, version, leader, live }))).toEqual([
      { id: 'r1', url: 'http://127.0.0.1:1', version: '1.0.0', leader: true, live: true },
      { id: 'r2', url: 'http://127.0.0.1:2', version: '1.1.0', leader: false, live: false },
    ]);

    // Released: no leader until another takes it, at the next epoch.
    await releaseLease(db, { name: 'controller', holder: 'r1', epoch: 1 });
    expect((await view.status()).leader).toBeNull();
    expect(await acquireLease(db, { name: 'controller', holder: 'r2', durationMs: 60_000 })).toBe(2);
    expect((await view.status()).leader).toMatchObject({ id: 'r2', epoch: 2 });
  });
});
