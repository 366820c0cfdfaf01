// mcpctl watch against the real server: one line per event, and after the server goes away and comes
// back it resumes where it was, printing nothing twice and missing nothing.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runWatch } from '../../src/cli/watch.js';
import type { CliIo } from '../../src/cli/io.js';
import { ADMIN_TOKEN, remoteManifest, startTestControlPlane, waitFor, type TestControlPlane } from '../support/control-plane.js';
import { watching } from '../support/mcpctl-watch.js';
import { startMcpServer, type RunningMcpServer } from '../support/mcp-servers.js';

const SERVERS = '/api/svc/v1/mcp-servers';

let upstream: RunningMcpServer;
beforeAll(async () => {
  upstream = await startMcpServer({ transport: 'streamable-http', tools: 2 });
});
afterAll(async () => {
  await upstream.close();
});

describe('mcpctl watch', () => {
  let cp: TestControlPlane;
  let dataDir: string;
  beforeEach(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'mcp-cp-watch-cli-'));
    cp = await startTestControlPlane({ dataDir, args: ['--resync-interval', '0'] });
  });
  afterEach(async () => {
    await cp.dispose();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('prints one line per event and resumes after the server restarts, without repeats or gaps', async () => {
    await cp.api(SERVERS, { method: 'PUT', body: { manifest: remoteManifest({ name: 'alpha', url: upstream.url }) } });
    const w = watching(cp.url);
    const json = watching(cp.url, ['bravo', '-o', 'json']);
    await waitFor(() => w.lines().some((l) => / MODIFIED {2}alpha .*Ready=True\(Ready\) {2}tools=2 {2}Generation 1 is applied/.test(l)) || w.lines().some((l) => / ADDED {2}alpha .*Ready=True/.test(l)), {
      what: `alpha Ready in the watch output; got ${JSON.stringify(w.out)}`,
    });
    expect(w.lines()[0]).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ {2}ADDED {2}alpha {2}rv=\d+ {2}gen=1\/\d {2}Ready=/);

    // The server goes away and comes back on the same port with the same data.
    const port = cp.port;
    await cp.stop();
    await waitFor(() => /reconnecting in/.test(w.out.stderr), { what: 'the watch noticing the disconnect' });
    cp = await startTestControlPlane({ dataDir, args: ['--resync-interval', '0', '--port', String(port)] });
    await cp.api(SERVERS, { method: 'PUT', body: { manifest: remoteManifest({ name: 'bravo' }) } });
    await cp.api(`${SERVERS}/name/alpha`, { method: 'DELETE' });
    await waitFor(() => w.lines().some((l) => / DELETED {2}alpha /.test(l)), { what: `alpha DELETED; got ${JSON.stringify(w.out)}` });
    expect(w.out.stderr).toMatch(/reconnected, resuming after resourceVersion \d+/);
    expect(w.lines().some((l) => / ADDED {2}bravo /.test(l))).toBe(true);

    // Every change was printed once, in order, and the lines match the changelog.
    await cp.controller.waitForIdle();
    const end = await cp.store.currentResourceVersion();
    await waitFor(() => w.lines().some((l) => l.includes(`rv=${end}`)), { what: `the line of rv=${end}` });
    const rvs = w.lines().map((l) => Number(/ rv=(\d+)/.exec(l)![1])).filter((rv) => rv <= end);
    expect(new Set(rvs).size).toBe(rvs.length);
    expect(rvs).toEqual([...rvs].sort((a, b) => a - b));
    const first = rvs[0]!;
    // The initial ADDED line carries alpha's own resourceVersion; every change after it was printed.
    expect(rvs.slice(1)).toEqual((await cp.store.changesSince(first, 1000)).map((c) => c.resourceVersion).filter((rv) => rv <= end));

    // NAME filters, -o json prints the events as JSON lines.
    await waitFor(() => json.lines().length >= 1, { what: 'bravo in the json watch' });
    const events = json.lines().map((l) => JSON.parse(l));
    expect(events.every((e: { object: { name: string } }) => e.object.name === 'bravo')).toBe(true);
    expect(events[0]).toMatchObject({ type: 'ADDED', object: { name: 'bravo', fqn: 'default:mcp-server:bravo' } });

    w.stop();
    json.stop();
    expect(await w.done).toBe(0);
    expect(await json.done).toBe(0);
    expect(w.out.stdout + w.out.stderr).not.toContain(ADMIN_TOKEN);
  });

  it('exits 1 when the token is refused, and 2 on a usage error', async () => {
    const out = { stdout: '', stderr: '' };
    const io: CliIo = {
      stdout: { write: (c: string) => (out.stdout += c) },
      stderr: { write: (c: string) => (out.stderr += c) },
      env: { MCPCTL_SERVER: cp.url, MCPCTL_TOKEN: 'not-the-token-0123456789' },
      cwd: tmpdir(),
    };
    expect(await runWatch([], io)).toBe(1);
    expect(out.stderr).toMatch(/answered 401/);
    expect(await runWatch(['--resource-version', 'x'], io)).toBe(2);
    expect(await runWatch(['-o', 'yaml'], io)).toBe(2);
  });
});
