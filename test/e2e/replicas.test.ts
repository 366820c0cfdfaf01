// Three replicas on one PostgreSQL, each a real `mcpctl serve` process (from the TypeScript sources), a
// real upstream MCP server and clients over HTTP. Writes are spread across the replicas; the leader is
// killed (SIGKILL) under write load, later frozen (SIGSTOP) and woken (SIGCONT), and last stopped (SIGTERM). Asserted: no
// acknowledged write is lost, a new leader takes over within the lease and a few seconds, every key
// converges on every replica, the woken old leader writes nothing (it finds its lease gone and exits 1),
// and a watch client resumes on a surviving replica without gaps or repeats.
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
import { POSTGRES_START_TIMEOUT_MS, requirePostgres, testPostgres } from '../support/postgres.js';

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

describe('three replicas on one PostgreSQL', () => {
  let dir: string;
  let storeUrl: string;
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
    const pgServer = await testPostgres();
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

  it('elects one leader, spreads writes across replicas, survives the leader\'s SIGKILL, SIGSTOP and SIGTERM without losing an acknowledged write', async () => {
    // One leader, seen alike by all three.
    const first = await waitFor(async () => {
      const seen = await Promise.all(replicas.map(leaderSeenBy));
      return seen.every((l) => l && l.id === seen[0]!.id) && (await api(replicas[0]!, '/api/svc/v1/cluster')).json.replicas.length === 3 ? seen[0] : undefined;
    }, { timeoutMs: 60_000, what: 'one leader seen by all three replicas' });
    const leader = replicas.find((r) => r.url === first!.url)!;

    // Writes spread across the replicas; every acknowledged one is remembered.
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

    // A watch client on the leader, from now on.
    const watchOnLeader = await WatchClient.open(leader.url, { token: ADMIN });
    expect(watchOnLeader.status).toBe(200);

    // SIGKILL of the leader while writes keep coming (to every replica: those sent to the dead one fail and are not acknowledged).
    const survivors = replicas.filter((r) => r !== leader);
    let writing = true;
    const load = (async () => {
      let n = 0;
      while (writing) await write(replicas, `s${n++ % 9}`, `v2-${n}`);
    })();
    await waitFor(() => acknowledged.get('s8')?.startsWith('v2-'), { what: 'writes under load' });
    leader.child.kill('SIGKILL');
    await leader.exited;
    const second = await waitFor(async () => {
      const l = await leaderSeenBy(survivors[0]!);
      return l && l.id !== first!.id ? l : undefined;
    }, { timeoutMs: TAKEOVER_DEADLINE_MS, what: 'a new leader after SIGKILL' });
    expect(second!.epoch).toBeGreaterThan(first!.epoch);
    const acksAtTakeover = acks;
    await waitFor(() => acks >= acksAtTakeover + 9, { what: 'writes after the takeover' });
    writing = false;
    await load;
    await waitFor(() => converged(survivors, acknowledged), { timeoutMs: 60_000, what: 'every key to converge after the takeover' });

    // The watch client lost its stream with the leader; it resumes on a survivor from its last event.
    await waitFor(() => watchOnLeader.ended, { what: 'the watch on the killed leader to end' });
    const seenBefore = watchOnLeader.events.filter((e) => e.type !== 'BOOKMARK' && e.id !== undefined);
    const lastId = seenBefore.at(-1)!.id!;
    const resumed = await WatchClient.open(survivors[0]!.url, { token: ADMIN, lastEventId: lastId });
    expect(resumed.status).toBe(200);
    const lastRvs = await Promise.all([...acknowledged.keys()].map(async (name) => Number((await api(survivors[0]!, `${SERVERS}/name/${name}`)).json.data.resourceVersion)));
    const finalRv = Math.max(...lastRvs);
    await resumed.waitFor((e) => Number(e.id) >= finalRv, { timeoutMs: 30_000, what: 'the resumed watch to catch up' });
    const ids = [...seenBefore, ...resumed.events.filter((e) => e.type !== 'BOOKMARK' && e.id !== undefined)].map((e) => Number(e.id));
    // Strictly increasing: no repeat, in order.
    expect(ids).toEqual([...new Set(ids)].sort((a, b) => a - b));
    // No gap: the last change of every server is among what was seen.
    for (const rv of lastRvs) expect(ids).toContain(rv);
    await resumed.close();
    await watchOnLeader.close();

    // SIGSTOP of the new leader: a third takes over; SIGCONT: the old one finds its lease gone, writes nothing and exits 1.
    const frozen = survivors.find((r) => r.url === second!.url)!;
    const other = survivors.find((r) => r !== frozen)!;
    frozen.child.kill('SIGSTOP');
    const third = await waitFor(async () => {
      const l = await leaderSeenBy(other);
      return l && l.id !== second!.id ? l : undefined;
    }, { timeoutMs: TAKEOVER_DEADLINE_MS, what: 'a new leader while the old one is frozen' });
    expect(third!.epoch).toBeGreaterThan(second!.epoch);
    for (let i = 0; i < 9; i++) expect(await write([other], `s${i}`, 'v3')).toBe(true);
    frozen.child.kill('SIGCONT');
    expect(await frozen.exited).toBe(1);
    expect(frozen.output()).toMatch(/lost the leader lease/);
    // The woken leader wrote nothing: every key holds its last acknowledged value and the leader is unchanged.
    await waitFor(() => converged([other], acknowledged), { timeoutMs: 60_000, what: 'every key to converge after the freeze' });
    expect((await leaderSeenBy(other))?.id).toBe(third!.id);

    // SIGTERM of the leader: it releases the lease on its way out, and a new replica takes over at its next try.
    const fresh = await startReplica('r4');
    other.child.kill('SIGTERM');
    expect(await other.exited).toBe(0);
    const fourth = await waitFor(async () => {
      const l = await leaderSeenBy(fresh);
      return l && l.id !== third!.id ? l : undefined;
    }, { timeoutMs: TAKEOVER_DEADLINE_MS, what: 'the new replica to lead after SIGTERM' });
    expect(fourth!.epoch).toBe(third!.epoch + 1);
    expect(fourth!.url).toBe(fresh.url);
    await waitFor(() => converged([fresh], acknowledged), { timeoutMs: 60_000, what: 'every key on the new leader' });
  }, 10 * 60_000);
});
