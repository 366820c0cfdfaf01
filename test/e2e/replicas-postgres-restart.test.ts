// Three replicas on one PostgreSQL, each a real `mcpctl serve` process, while a writer writes across them
// and PostgreSQL restarts (fast: its sessions end, every commit is kept). Asserted: no acknowledged write is
// lost, there is a leader again, writes are accepted again, and a watch continues (or resumes from its
// last event) without gaps or repeats.
import { spawn, type ChildProcess } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { WatchClient } from '../http/watch-client.js';
import { remoteManifest, waitFor } from '../support/control-plane.js';
import { startMcpServer, type RunningMcpServer } from '../support/mcp-servers.js';
import { freePort } from '../support/peer-process.js';
import { POSTGRES_START_TIMEOUT_MS, requirePostgres, testPostgres, type TestPostgres } from '../support/postgres.js';

const { describe } = requirePostgres();
const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const SERVERS = '/api/svc/v1/mcp-servers';
const ADMIN = 'replicas-admin-token-0123456789abcdef';
const LEASE_MS = 3000;
/** A new leader must lead within the lease and a few seconds of the old one's end (the bound). */
const TAKEOVER_DEADLINE_MS = LEASE_MS + 10_000;

interface Replica {
  name: string;
  url: string;
  child: ChildProcess;
  output(): string;
  exited: Promise<number | null>;
}

describe('three replicas on one PostgreSQL that restarts', () => {
  let dir: string;
  let storeUrl: string;
  let pgServer: TestPostgres;
  let upstream: RunningMcpServer;
  const env: Record<string, string> = {};
  const replicas: Replica[] = [];

  async function startReplica(name: string): Promise<Replica> {
    const port = await freePort();
    const child = spawn(
      process.execPath,
      [
        '--import', join(ROOT, 'test/support/loopback-listen.mjs'),
        '--import', join(ROOT, 'test/support/ts-worker-register.mjs'),
        join(ROOT, 'src/cli/mcpctl.ts'), 'serve',
        '--port', String(port), '--advertise-url', `http://127.0.0.1:${port}`, '--data-dir', join(dir, name), '--no-manifests', '--write-rate-limit', 'off',
        '--lease-duration', `${LEASE_MS}ms`, '--discovery-retry-unreachable-max', '1s', '--log-level', 'warn',
      ],
      { cwd: ROOT, env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    const keep = (b: Buffer) => {
      if (out.length < 200_000) out += b.toString();
    };
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const replica = { name, url: `http://127.0.0.1:${port}`, child, output: () => out, exited };
    replicas.push(replica);
    await waitFor(
      async () => {
        if (child.exitCode !== null) throw new Error(`${name} exited (${child.exitCode}):\n${out}`);
        return (await api(replica, '/readyz').catch(() => undefined))?.status === 200;
      },
      { timeoutMs: 120_000, what: `${name} to be ready` },
    );
    return replica;
  }

  async function api(r: Replica, path: string, init: { method?: string; body?: unknown } = {}): Promise<{ status: number; json: any }> {
    const res = await fetch(`${r.url}${path}`, {
      method: init.method ?? 'GET',
      headers: { authorization: `Bearer ${ADMIN}`, ...(init.body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
    });
    const text = await res.text();
    return { status: res.status, json: text ? JSON.parse(text) : undefined };
  }

  const alive = () => replicas.filter((r) => r.child.exitCode === null && r.child.signalCode === null);

  /** The leader as the given replica's cluster endpoint names it. */
  async function leaderSeenBy(r: Replica): Promise<{ id: string; epoch: number; url: string } | undefined> {
    const res = await api(r, '/api/svc/v1/cluster');
    const leader = res.json?.leader as { id: string; epoch: number } | null;
    const row = leader && (res.json.replicas as { id: string; url: string }[]).find((x) => x.id === leader.id);
    return leader && row ? { ...leader, url: row.url } : undefined;
  }

  const manifest = (name: string, description: string) => remoteManifest({ name, description, url: upstream.url });

  /** Every server is Ready at its latest generation, as every listed replica answers. */
  async function converged(on: Replica[], expected: Map<string, string>): Promise<boolean> {
    for (const r of on) {
      for (const [name, description] of expected) {
        const res = await api(r, `${SERVERS}/name/${name}`);
        const s = res.json?.data;
        if (res.status !== 200 || s.manifest.description !== description) return false;
        const ready = (s.status.conditions as { type: string; status: string; observedGeneration: number }[]).find((c) => c.type === 'Ready');
        if (ready?.status !== 'True' || s.status.observedGeneration !== s.generation) return false;
      }
    }
    return true;
  }

  beforeAll(async () => {
    pgServer = await testPostgres();
    storeUrl = (await pgServer.freshSchema()).url;
    dir = mkdtempSync(join(tmpdir(), 'mcp-cp-replicas-'));
    upstream = await startMcpServer({ transport: 'streamable-http', tools: 2 });
    Object.assign(env, {
      MCP_CP_STORE: storeUrl,
      MCP_CP_SECRET_KEY: randomBytes(32).toString('base64'),
      MCP_CP_ADMIN_TOKEN: ADMIN,
      MCP_CP_SIGNING_KEY: generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    });
    for (const name of ['r1', 'r2', 'r3']) await startReplica(name);
  }, POSTGRES_START_TIMEOUT_MS + 3 * 120_000);
  afterAll(async () => {
    for (const r of replicas) {
      if (r.child.signalCode === 'SIGSTOP' || r.child.exitCode === null) r.child.kill('SIGCONT');
      if (r.child.exitCode === null && r.child.signalCode === null) r.child.kill('SIGKILL');
      await r.exited;
    }
    await upstream?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('keeps every acknowledged write across a PostgreSQL restart, elects a leader again, takes writes again and resumes watch without gaps or repeats', async () => {
    await waitFor(async () => {
      const seen = await Promise.all(replicas.map(leaderSeenBy));
      return seen.every((l) => l && l.id === seen[0]!.id) ? seen[0] : undefined;
    }, { timeoutMs: 60_000, what: 'one leader seen by all three replicas' });
    const acknowledged = new Map<string, string>();
    let acks = 0;
    let turn = 0;
    const write = async (targets: Replica[], name: string, description: string): Promise<boolean> => {
      const r = targets[turn++ % targets.length]!;
      const res = await api(r, SERVERS, { method: 'PUT', body: { manifest: manifest(name, description) } }).catch(() => undefined);
      if (res?.status === 200) {
        acks++;
        acknowledged.set(name, description);
        return true;
      }
      return false;
    };
    for (let i = 0; i < 9; i++) expect(await write(replicas, `s${i}`, 'v1')).toBe(true);
    await waitFor(() => converged(replicas, acknowledged), { timeoutMs: 60_000, what: 'every key Ready on every replica' });

    const watched = replicas[1]!;
    const watch = await WatchClient.open(watched.url, { token: ADMIN });
    expect(watch.status).toBe(200);

    // A writer across every replica while PostgreSQL restarts (fast: sessions end, commits are kept).
    let writing = true;
    const load = (async () => {
      let n = 0;
      while (writing) await write(alive(), `s${n++ % 9}`, `v2-${n}`);
    })();
    await waitFor(() => acknowledged.get('s8')?.startsWith('v2-'), { what: 'writes under load' });
    await pgServer.restart('fast');
    const acksAtRestart = acks;

    // A leader again (a replica that lost its lease meanwhile exits, as designed), seen by every replica alive.
    await waitFor(async () => {
      const live = alive();
      if (live.length === 0) throw new Error(`every replica exited:\n${replicas.map((r) => r.output()).join('\n')}`);
      const seen = await Promise.all(live.map((r) => leaderSeenBy(r).catch(() => undefined)));
      return seen.every((l) => l && l.id === seen[0]!.id && live.some((r) => r.url === l.url));
    }, { timeoutMs: TAKEOVER_DEADLINE_MS + 30_000, what: 'a leader again after the restart' });
    await waitFor(() => acks >= acksAtRestart + 9, { timeoutMs: 60_000, what: 'writes accepted again after the restart' });
    writing = false;
    await load;
    await waitFor(() => converged(alive(), acknowledged), { timeoutMs: 60_000, what: 'every acknowledged write kept and converged' });

    // The watch: continued, or resumed from its last event on a replica alive.
    const seenBefore = watch.events.filter((e) => e.type !== 'BOOKMARK' && e.id !== undefined);
    let after: typeof seenBefore = [];
    const reader = alive()[0]!;
    const lastRvs = await Promise.all([...acknowledged.keys()].map(async (name) => Number((await api(reader, `${SERVERS}/name/${name}`)).json.data.resourceVersion)));
    const finalRv = Math.max(...lastRvs);
    let resumed: WatchClient | undefined;
    if (watch.ended || watched.child.exitCode !== null) {
      const target = alive().includes(watched) ? watched : reader;
      resumed = await WatchClient.open(target.url, { token: ADMIN, lastEventId: seenBefore.at(-1)!.id! });
      expect(resumed.status).toBe(200);
      await resumed.waitFor((e) => Number(e.id) >= finalRv, { timeoutMs: 30_000, what: 'the resumed watch to catch up' });
      after = resumed.events.filter((e) => e.type !== 'BOOKMARK' && e.id !== undefined);
    } else {
      await watch.waitFor((e) => Number(e.id) >= finalRv, { timeoutMs: 30_000, what: 'the watch to catch up' });
    }
    const ids = [...watch.events.filter((e) => e.type !== 'BOOKMARK' && e.id !== undefined), ...after].map((e) => Number(e.id));
    expect(ids).toEqual([...new Set(ids)].sort((a, b) => a - b));
    for (const rv of lastRvs) expect(ids).toContain(rv);
    await resumed?.close();
    await watch.close();
  }, 10 * 60_000);
});
