// GET /metrics through the real server: who may scrape, the metric names, and values that move with
// what the control plane does. Real MCP servers, real files, real reconciles.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { StaticTokenAuthenticator } from '../../src/auth/authenticator.js';
import { ADMIN_TOKEN, remoteManifest, startTestControlPlane, waitFor, type TestControlPlane } from '../support/control-plane.js';
import { startMcpServer, type RunningMcpServer } from '../support/mcp-servers.js';
import { WatchClient } from './watch-client.js';
import { userPrincipal } from '../support/principals.js';

const SERVERS = '/api/svc/v1/mcp-servers';
const SECRET = 'canary-secret-metrics-5d1c';
const VIEWER_TOKEN = 'viewer-token-0123456789abcdef';
const viewer = userPrincipal('alice', 'viewer', 'Alice');

/** The value of one sample, by metric name and labels (all given labels must match); undefined when absent. */
export function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((l) => [l[1], l[2]]));
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) return Number(m[3]);
  }
  return undefined;
}

let upstream: RunningMcpServer;
beforeAll(async () => {
  upstream = await startMcpServer({ transport: 'streamable-http', tools: 3 });
});
afterAll(async () => {
  await upstream.close();
});

describe('GET /metrics', () => {
  let cp: TestControlPlane;
  let dir: string;
  const scrape = async () => {
    const res = await cp.api('/metrics');
    expect(res.status).toBe(200);
    return res.text;
  };
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'mcp-cp-metrics-'));
    writeFileSync(join(dir, 'files.yaml'), `type: mcp-server/remote\nname: from-file\ndescription: From a file\nurl: ${upstream.url}\ncollaborators:\n  - subject: team:everyone\n    role_id: mcp-server-user\n`);
    cp = await startTestControlPlane({
      args: ['--resync-interval', '0', '--write-rate-limit', 'off', '--discovery-retry-base', '60s'],
      manifests: [dir],
      authenticators: [new StaticTokenAuthenticator(VIEWER_TOKEN, viewer)],
    });
  });
  afterEach(async () => {
    await cp.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  it('needs an admin bearer token unless --metrics-public', async () => {
    const anonymous = await cp.api('/metrics', { token: null });
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('www-authenticate')).toMatch(/^Bearer/);
    const asViewer = await cp.api('/metrics', { token: VIEWER_TOKEN });
    expect(asViewer.status).toBe(403);
    expect(asViewer.json.error.message).toMatch(/--metrics-public/);
    const asAdmin = await cp.api('/metrics');
    expect(asAdmin.status).toBe(200);
    expect(asAdmin.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);

    const open = await startTestControlPlane({ args: ['--metrics-public'] });
    try {
      const res = await open.api('/metrics', { token: null });
      expect(res.status).toBe(200);
      expect(res.text).toMatch(/^# TYPE mcp_cp_reconcile_total counter$/m);
    } finally {
      await open.dispose();
    }
  });

  it('reports reconciles, the queue, resources by Ready, discoveries, the gateway store, watchers and HTTP requests as they happen', async () => {
    await waitFor(async () => sample(await scrape(), 'mcp_cp_resources', { ready: 'True' }) === 1, { what: 'the file server Ready' });
    let text = await scrape();
    for (const name of [
      'mcp_cp_reconcile_total',
      'mcp_cp_reconcile_duration_seconds',
      'mcp_cp_workqueue_depth',
      'mcp_cp_workqueue_wait_seconds',
      'mcp_cp_resources',
      'mcp_cp_last_successful_reconcile_age_seconds',
      'mcp_cp_discovery_duration_seconds',
      'mcp_cp_discovery_failures_total',
      'mcp_cp_gateway_store_entries',
      'mcp_cp_watch_clients',
      'mcp_cp_http_request_duration_seconds',
      'process_resident_memory_bytes',
    ]) {
      expect(text).toMatch(new RegExp(`^# TYPE ${name} `, 'm'));
    }
    const fileSource = resolve(dir);
    expect(sample(text, 'mcp_cp_last_successful_reconcile_age_seconds', { source: fileSource })).toBeLessThan(60);
    expect(sample(text, 'mcp_cp_last_successful_reconcile_age_seconds', { source: 'api' })).toBeUndefined();
    const reconcilesBefore = sample(text, 'mcp_cp_reconcile_total', { result: 'success' }) ?? 0;
    const discoveriesBefore = sample(text, 'mcp_cp_discovery_duration_seconds_count', { result: 'success' }) ?? 0;
    expect(discoveriesBefore).toBeGreaterThanOrEqual(1);
    expect(sample(text, 'mcp_cp_gateway_store_entries')).toBe(1);

    // One server that answers, one that cannot be reached (its header value is a secret).
    const ok = await cp.api(SERVERS, { method: 'PUT', body: { manifest: remoteManifest({ name: 'reachable', url: upstream.url }) } });
    expect(ok.status).toBe(200);
    const down = await cp.api(SERVERS, {
      method: 'PUT',
      body: { manifest: remoteManifest({ name: 'down', auth_data: { type: 'header', headers: { 'X-Api-Key': SECRET } } }) },
    });
    expect(down.status).toBe(200);
    text = await waitFor(
      async () => {
        const t = await scrape();
        return sample(t, 'mcp_cp_resources', { ready: 'True' }) === 2 && sample(t, 'mcp_cp_resources', { ready: 'False' }) === 1 ? t : undefined;
      },
      { what: 'two Ready servers and one not' },
    );
    expect(sample(text, 'mcp_cp_resources', { ready: 'Unknown' })).toBe(0);
    expect(sample(text, 'mcp_cp_reconcile_total', { result: 'success' })! + (sample(text, 'mcp_cp_reconcile_total', { result: 'requeue' }) ?? 0)).toBeGreaterThan(reconcilesBefore);
    expect(sample(text, 'mcp_cp_reconcile_duration_seconds_count', { result: 'success' })).toBeGreaterThan(0);
    expect(sample(text, 'mcp_cp_workqueue_wait_seconds_count')).toBeGreaterThan(0);
    expect(sample(text, 'mcp_cp_discovery_duration_seconds_count', { result: 'success' })).toBeGreaterThan(discoveriesBefore);
    expect(sample(text, 'mcp_cp_discovery_failures_total', { reason: 'Unreachable' })).toBeGreaterThanOrEqual(1);
    expect(sample(text, 'mcp_cp_gateway_store_entries')).toBe(3);
    expect(sample(text, 'mcp_cp_last_successful_reconcile_age_seconds', { source: 'api' })).toBeLessThan(60);
    expect(sample(text, 'mcp_cp_workqueue_depth')).toBeGreaterThanOrEqual(0);

    // Watch clients come and go.
    expect(sample(text, 'mcp_cp_watch_clients')).toBe(0);
    const watcher = await WatchClient.open(cp.url);
    expect(sample(await scrape(), 'mcp_cp_watch_clients')).toBe(1);
    await watcher.close();
    await waitFor(async () => sample(await scrape(), 'mcp_cp_watch_clients') === 0, { what: 'the watcher gone' });

    // HTTP requests by route template and status, never by raw path.
    await cp.api(`${SERVERS}/name/no-such-server`);
    await cp.api('/no/such/route');
    text = await scrape();
    const route = { method: 'GET', route: '/api/svc/v1/mcp-servers/name/{name}' };
    expect(sample(text, 'mcp_cp_http_request_duration_seconds_count', { ...route, code: '404' })).toBe(1);
    expect(sample(text, 'mcp_cp_http_request_duration_seconds_count', { method: 'PUT', route: '/api/svc/v1/mcp-servers', code: '200' })).toBe(2);
    expect(sample(text, 'mcp_cp_http_request_duration_seconds_count', { method: 'GET', route: 'unmatched', code: '404' })).toBe(1);
    expect(text).not.toContain('no-such-server');
    // The watch stream is not a latency.
    expect(sample(text, 'mcp_cp_http_request_duration_seconds_count', { method: 'GET', route: '/api/svc/v1/mcp-servers', code: '200' })).toBeUndefined();

    // Deleting moves the tally back.
    await cp.api(`${SERVERS}/name/down`, { method: 'DELETE' });
    await waitFor(async () => sample(await scrape(), 'mcp_cp_resources', { ready: 'False' }) === 0, { what: 'the deleted server gone from the tally' });
    text = await scrape();
    expect(text).not.toContain(SECRET);
    expect(text).not.toContain(ADMIN_TOKEN);
  });
});
