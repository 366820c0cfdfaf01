// Status that tells the truth, fast, through the real control plane: a server started after the
// control plane is found within seconds (on an injected clock), an upstream killed under a live gateway
// session turns Ready=False within seconds, and a disabled: true setting with a typo fails closed.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ADMIN_TOKEN, remoteManifest, startTestControlPlane, waitFor, type TestControlPlane } from '../support/control-plane.js';
import { FakeClock, flushPromises } from '../support/fake-clock.js';
import { startMcpServer, type RunningMcpServer } from '../support/mcp-servers.js';
import { freePort, startPeer, type PeerProcess } from '../support/peer-process.js';
import { condition, getServer, putServer, waitForReady, type ServerView } from '../support/servers-api.js';

const DEMO = join(process.cwd(), 'examples', 'demo-mcp-server.mjs');
const EXAMPLE = join(process.cwd(), 'manifests', 'example.yaml');

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function controlPlane(args: string[], clock?: FakeClock): Promise<TestControlPlane> {
  const cp = await startTestControlPlane({ args: ['--resync-interval', '0', ...args], ...(clock ? { clock } : {}) });
  cleanups.push(() => cp.dispose());
  return cp;
}

async function demoServer(port: number): Promise<PeerProcess> {
  const peer = await startPeer(DEMO, [], { env: { PORT: String(port) }, ports: [port] });
  cleanups.push(() => peer.kill());
  return peer;
}

/** Waits until no reconcile and no discovery of fqn is running or queued (real work, real sockets). */
async function settle(cp: TestControlPlane, fqn: string): Promise<void> {
  for (;;) {
    await waitFor(() => cp.discovery.activity(fqn).phase === 'idle', { what: `discovery of ${fqn} idle` });
    await cp.controller.waitForIdle();
    await flushPromises();
    if (cp.discovery.activity(fqn).phase === 'idle') return;
  }
}

/** Moves the fake clock to `until`, timer by timer, letting the work each timer starts finish first. */
async function runUntil(clock: FakeClock, cp: TestControlPlane, fqn: string, until: number, stop: () => Promise<boolean>): Promise<boolean> {
  for (;;) {
    await settle(cp, fqn);
    if (await stop()) return true;
    const next = clock.pendingTimers().find((t) => t.at <= until);
    if (!next) {
      clock.advance(Math.max(0, until - clock.now()));
      await settle(cp, fqn);
      return stop();
    }
    clock.advance(Math.max(0, next.at - clock.now()));
  }
}

const isReady = (cp: TestControlPlane, name: string) => async () => {
  const s = await getServer(cp, name);
  return s.status.observedGeneration === s.generation && condition(s, 'Ready')?.status === 'True';
};

describe('a server started after the control plane (the quick start)', () => {
  it.each([
    ['2 s', 2_000],
    ['10 minutes', 10 * 60_000],
  ])('is Ready within 5 s of starting when it was down for %s, and the status says when the next attempt is', async (_label, downMs) => {
    const clock = new FakeClock(Date.parse('2026-01-01T00:00:00Z'));
    const port = await freePort();
    // The quick start's own manifest, from a watched directory, at a free port instead of 3001.
    const dir = mkdtempSync(join(tmpdir(), 'mcp-quick-start-'));
    cleanups.push(async () => rmSync(dir, { recursive: true, force: true }));
    writeFileSync(join(dir, 'example.yaml'), readFileSync(EXAMPLE, 'utf8').replace('127.0.0.1:3001', `127.0.0.1:${port}`));
    const cp = await controlPlane(['--manifests', dir], clock);
    const fqn = `default:mcp-server:example-tools`;

    const down = await waitForReady(cp, 'example-tools', 'False', { reason: 'Unreachable' });
    // The status says when the next attempt is.
    expect(condition(down, 'Ready')!.message).toContain('Next attempt within 5 s.');
    expect(condition(down, 'Reconciling')!.message).toContain('Next attempt within 5 s.');

    await runUntil(clock, cp, fqn, clock.now() + downMs, async () => false);
    // Still failing, still retried within seconds however long it has been down.
    const stillDown = await getServer(cp, 'example-tools');
    expect(condition(stillDown, 'Ready')!.message).toContain('Next attempt within 5 s.');

    await demoServer(port);
    const startedAt = clock.now();
    const ready = await runUntil(clock, cp, fqn, startedAt + 5_000, isReady(cp, 'example-tools'));
    expect(ready).toBe(true);
    expect(clock.now() - startedAt).toBeLessThanOrEqual(5_000);
    const server = await getServer(cp, 'example-tools');
    expect(server.tools.map((t) => [t.name, t.disabled])).toEqual([
      ['echo', false],
      ['add', false],
      ['delete_everything', true],
    ]);
  });
});

async function connectGateway(cp: TestControlPlane, name: string): Promise<Client> {
  const transport = new StreamableHTTPClientTransport(new URL(`${cp.url}/mcp/${name}`), {
    requestInit: { headers: { Authorization: `Bearer ${ADMIN_TOKEN}` } },
    reconnectionOptions: { maxRetries: 0, initialReconnectionDelay: 1000, maxReconnectionDelay: 1000, reconnectionDelayGrowFactor: 1 },
  });
  const client = new Client({ name: 'status-test', version: '1.0.0' }, { capabilities: {} });
  client.onerror = () => undefined;
  await client.connect(transport);
  cleanups.push(() => client.close().catch(() => undefined));
  return client;
}

describe('what the gateway sees reaches the status', () => {
  it('turns Ready=False (Unreachable, at the time the gateway saw it) when an upstream dies under a live session, and a success clears it', async () => {
    // The clock only moves when the test moves it, and discovery runs only every 10 minutes: nothing but
    // the gateway's report can make the status change while the clock stands still.
    const clock = new FakeClock(Date.parse('2026-01-01T00:00:00Z'));
    const cp = await controlPlane(['--discovery-interval', '10m', '--discovery-retry-base', '100ms', '--discovery-retry-unreachable-max', '200ms'], clock);
    const fqn = 'default:mcp-server:live';
    let upstream: RunningMcpServer = await startMcpServer({ transport: 'streamable-http', tools: 2, stateful: true });
    cleanups.push(() => upstream.close());
    await putServer(cp, remoteManifest({ name: 'live', url: upstream.url }));
    await waitForReady(cp, 'live', 'True');
    const client = await connectGateway(cp, 'live');
    expect((await client.listTools()).tools.map((t) => t.name)).toEqual(['tool-0001', 'tool-0002']);
    await settle(cp, fqn);
    const frozenAt = clock.now();

    const port = upstream.port;
    await upstream.close();
    // The session's next call fails: the gateway tells the status, which discovers the server again at once.
    await expect(client.callTool({ name: 'tool-0001', arguments: {} })).rejects.toThrow();
    await waitFor(async () => condition(await getServer(cp, 'live'), 'Ready')!.status === 'False', { what: 'Ready=False' });
    await settle(cp, fqn);
    expect(clock.now()).toBe(frozenAt);
    const ready = condition(await getServer(cp, 'live'), 'Ready')!;
    // The rediscovery the report asked for finished after it, so its answer is what Ready says, with the
    // time the status changed: the instant the gateway saw the failure.
    expect(ready).toMatchObject({
      status: 'False',
      reason: 'Unreachable',
      message: `Cannot reach the MCP server at 127.0.0.1:${port} (ECONNREFUSED); check the URL and that the server is running. Next attempt within 200 ms.`,
      lastTransitionTime: new Date(frozenAt).toISOString(),
    });

    // Back at the same URL: the short retry schedule finds it, and Ready is True again by itself.
    upstream = await startMcpServer({ transport: 'streamable-http', tools: 2, stateful: true, port });
    expect(await runUntil(clock, cp, fqn, clock.now() + 1_000, isReady(cp, 'live'))).toBe(true);
    const again = await connectGateway(cp, 'live');
    expect((await again.callTool({ name: 'tool-0002', arguments: {} })).isError).toBeFalsy();
  });
});

describe('tool_settings fail closed', () => {
  it('a disabled: true entry naming no real tool makes the server Ready=False (UnknownTool, did you mean) and unserved until fixed', async () => {
    const cp = await controlPlane([]);
    const upstream = await startMcpServer({
      transport: 'streamable-http',
      tools: [{ name: 'echo' }, { name: 'delete_everything' }, { name: 'delete_nothing_at_all' }],
    });
    cleanups.push(() => upstream.close());
    const typo = [{ name: 'delete_everythng', disabled: true }, { name: 'ech0_typo_description', description: 'Only a description.' }];
    await putServer(cp, remoteManifest({ name: 'typo', url: upstream.url, tool_settings: typo }));
    const refused: ServerView = await waitForReady(cp, 'typo', 'False', { reason: 'UnknownTool' });
    const ready = condition(refused, 'Ready')!;
    expect(ready.message).toContain('"delete_everythng" (did you mean "delete_everything"?)');
    // Only the disabled entry fails closed; a description override of an unknown tool stays a warning.
    expect(ready.message).not.toContain('ech0_typo_description');
    expect(condition(refused, 'Discovered')).toMatchObject({ status: 'True', reason: 'UnknownTool' });
    expect(condition(refused, 'Discovered')!.message).toContain('ech0_typo_description');

    // Not served: the tool the typo meant to disable is not callable through the gateway.
    const init = await fetch(`${cp.url}/mcp/typo`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 't', version: '1' } } }),
    });
    expect(init.status).toBe(503);
    expect(await init.text()).toContain('UnknownTool');

    // Fixed: Ready, served, and the tool is disabled as meant.
    await putServer(cp, remoteManifest({ name: 'typo', url: upstream.url, tool_settings: [{ name: 'delete_everything', disabled: true }] }));
    await waitForReady(cp, 'typo', 'True');
    const client = await connectGateway(cp, 'typo');
    expect((await client.listTools()).tools.map((t) => t.name)).toEqual(['echo', 'delete_nothing_at_all']);
  });

  it('a description override for an unknown tool stays a warning: Ready=True', async () => {
    const cp = await controlPlane([]);
    const upstream = await startMcpServer({ transport: 'streamable-http', tools: [{ name: 'echo' }] });
    cleanups.push(() => upstream.close());
    await putServer(cp, remoteManifest({ name: 'warn', url: upstream.url, tool_settings: [{ name: 'ecoh', description: 'x' }] }));
    const ready = await waitForReady(cp, 'warn', 'True');
    expect(condition(ready, 'Discovered')).toMatchObject({ status: 'True', reason: 'UnknownTool' });
  });
});
