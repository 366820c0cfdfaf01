// Control-plane replicas on one PostgreSQL for the multi-replica e2e suites: each a real `mcpctl serve`
// process from the TypeScript sources, on its own loopback port (which it advertises), sharing the keys and
// admin token PostgreSQL mode requires, with a short lease so takeovers are quick. Writes that a replica
// acknowledged (200) are remembered, so a suite can assert that none is lost.
import { spawn, type ChildProcess } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { remoteManifest, waitFor } from './control-plane.js';
import { startMcpServer, type RunningMcpServer } from './mcp-servers.js';
import { freePort } from './peer-process.js';
import { POSTGRES_START_TIMEOUT_MS, testPostgres, type TestPostgres } from './postgres.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const SERVERS = '/api/svc/v1/mcp-servers';
export const REPLICA_ADMIN_TOKEN = 'replicas-admin-token-0123456789abcdef';
/** How long a replica waits to be ready (a cold start of the TypeScript sources on a busy machine). */
const READY_TIMEOUT_MS = 120_000;
/** The lease of a replicaSuite's replicas: short, so takeovers are quick. */
export const SUITE_LEASE_MS = 3000;
/** A new leader must lead within the lease and a few seconds of the old one's end (the bound). */
export const TAKEOVER_DEADLINE_MS = SUITE_LEASE_MS + 10_000;
/** What a replica's output keeps: its start, and its latest lines (where a failure's cause is). */
const OUTPUT_HEAD_BYTES = 50_000;
const OUTPUT_TAIL_BYTES = 400_000;
/** The replicas' log level: info, so a failed run's outputs say what each replica did. */
const REPLICA_LOG_LEVEL = 'info';

export interface Replica {
  name: string;
  url: string;
  child: ChildProcess;
  /** What it printed: the first OUTPUT_HEAD_BYTES and the last OUTPUT_TAIL_BYTES of it. */
  output(): string;
  /** Its exit code (null when a signal ended it). */
  exited: Promise<number | null>;
}

export interface ApiAnswer {
  status: number;
  json: any;
}

export interface ReplicaSetOptions {
  /** The PostgreSQL URL (a schema of its own) the replicas share. */
  storeUrl: string;
  leaseMs: number;
  /** The upstream MCP server every manifest() points at. */
  upstreamUrl: string;
}

export class ReplicaSet {
  /** Every replica started, in order, alive or not. */
  readonly replicas: Replica[] = [];
  private readonly dir = mkdtempSync(join(tmpdir(), 'mcp-cp-replicas-'));
  private readonly env: Record<string, string>;

  constructor(private readonly options: ReplicaSetOptions) {
    this.env = {
      MCP_CP_STORE: options.storeUrl,
      MCP_CP_SECRET_KEY: randomBytes(32).toString('base64'),
      MCP_CP_ADMIN_TOKEN: REPLICA_ADMIN_TOKEN,
      MCP_CP_SIGNING_KEY: generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    };
  }

  /** Starts a replica and resolves once its /readyz answers 200. */
  async start(name: string): Promise<Replica> {
    const port = await freePort();
    const child = spawn(
      process.execPath,
      [
        '--import', join(ROOT, 'test/support/loopback-listen.mjs'),
        '--import', join(ROOT, 'test/support/ts-worker-register.mjs'),
        join(ROOT, 'src/cli/mcpctl.ts'), 'serve',
        '--port', String(port), '--advertise-url', `http://127.0.0.1:${port}`, '--data-dir', join(this.dir, name), '--no-manifests', '--write-rate-limit', 'off',
        '--lease-duration', `${this.options.leaseMs}ms`, '--discovery-retry-unreachable-max', '1s', '--log-level', REPLICA_LOG_LEVEL,
        // The test process's priority, as every test control plane keeps (control-plane.ts): serve's default lowers
        // the thread that renews the lease to nice 10, a tenth of the CPU share of the other processes of a
        // shared machine, and a starved leader misses the suite's 2 s renew deadline sooner.
        '--control-plane-nice', '0',
      ],
      { cwd: ROOT, env: { PATH: process.env.PATH ?? '', ...this.env }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const out = new KeptOutput();
    child.stdout!.on('data', (b: Buffer) => out.add(b.toString()));
    child.stderr!.on('data', (b: Buffer) => out.add(b.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const replica = { name, url: `http://127.0.0.1:${port}`, child, output: () => out.text(), exited };
    this.replicas.push(replica);
    await waitFor(
      async () => {
        if (child.exitCode !== null) throw new Error(`${name} exited (${child.exitCode}):\n${out.text()}`);
        return (await this.api(replica, '/readyz').catch(() => undefined))?.status === 200;
      },
      { timeoutMs: READY_TIMEOUT_MS, what: `${name} to be ready` },
    );
    return replica;
  }

  /** A request to a replica as the admin. */
  async api(r: Replica, path: string, init: { method?: string; body?: unknown } = {}): Promise<ApiAnswer> {
    const res = await fetch(`${r.url}${path}`, {
      method: init.method ?? 'GET',
      headers: { authorization: `Bearer ${REPLICA_ADMIN_TOKEN}`, ...(init.body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
    });
    const text = await res.text();
    return { status: res.status, json: text ? JSON.parse(text) : undefined };
  }

  /** The replicas whose process still runs. */
  alive(): Replica[] {
    return this.replicas.filter((r) => r.child.exitCode === null && r.child.signalCode === null);
  }

  /** The leader as the given replica's cluster endpoint names it, with the URL it advertises. */
  async leaderSeenBy(r: Replica): Promise<{ id: string; epoch: number; url: string } | undefined> {
    const res = await this.api(r, '/api/svc/v1/cluster');
    const leader = res.json?.leader as { id: string; epoch: number } | null;
    const row = leader && (res.json.replicas as { id: string; url: string }[]).find((x) => x.id === leader.id);
    return leader && row ? { ...leader, url: row.url } : undefined;
  }

  /** A remote server on the upstream, told apart by its description. */
  manifest(name: string, description: string): Record<string, unknown> {
    return remoteManifest({ name, description, url: this.options.upstreamUrl });
  }

  /**
   * Every server is Ready at its latest generation with a description the writes allow (writes.possible():
   * its last acknowledged one, or a later one whose answer never came), as every listed replica answers.
   */
  async converged(on: Replica[], writes: AcknowledgedWrites): Promise<boolean> {
    this.lastDivergence = await this.divergence(on, writes.possible());
    return this.lastDivergence === undefined;
  }

  /** What the last converged() that answered false found first (for a failure's message). */
  lastDivergence: string | undefined;

  /** The first server (on the first replica) not converged, described; undefined when every one is. */
  private async divergence(on: Replica[], possible: Map<string, readonly string[]>): Promise<string | undefined> {
    for (const r of on) {
      for (const [name, descriptions] of possible) {
        const res = await this.api(r, `${SERVERS}/name/${name}`);
        const s = res.json?.data;
        const seen = `${name} on ${r.name}: expected one of ${JSON.stringify(descriptions)}, got ${res.status} ${JSON.stringify(s ? { description: s.manifest?.description, generation: s.generation, resourceVersion: s.resourceVersion, status: s.status } : res.json)}`;
        if (res.status !== 200 || !descriptions.includes(s.manifest.description)) return seen;
        const ready = (s.status.conditions as { type: string; status: string; observedGeneration: number }[]).find((c) => c.type === 'Ready');
        if (ready?.status !== 'True' || s.status.observedGeneration !== s.generation) return seen;
      }
    }
    return undefined;
  }

  /**
   * Runs a test's body; when it fails, the error says what the replicas last showed (the first key not
   * converged, each replica's exit and latest output lines), and every replica's kept output is written to
   * a directory named in the message (MCP_CP_TEST_ARTIFACTS, else the temp directory), so a failure in CI
   * explains itself.
   */
  async explainFailure(body: () => Promise<void>): Promise<void> {
    try {
      await body();
    } catch (err) {
      const dir = mkdtempSync(join(process.env.MCP_CP_TEST_ARTIFACTS ?? tmpdir(), 'replicas-failure-'));
      const parts = [`${err instanceof Error ? err.message : String(err)}`, `first key not converged: ${this.lastDivergence ?? '(none seen)'}`, `replica outputs kept in ${dir}`];
      for (const r of this.replicas) {
        const text = r.output();
        writeFileSync(join(dir, `${r.name}.log`), text);
        const state = r.child.exitCode !== null ? `exited ${r.child.exitCode}` : r.child.signalCode !== null ? `ended by ${r.child.signalCode}` : 'running';
        parts.push(`--- ${r.name} (${r.url}, ${state}), last lines:\n${text.split('\n').slice(-40).join('\n')}`);
      }
      const explained = new Error(parts.join('\n'));
      if (err instanceof Error && err.stack) explained.stack = `${explained.message}\n${err.stack.split('\n').slice(1).join('\n')}`;
      throw explained;
    }
  }

  /** Ends every replica (a frozen one is woken first to be killed) and removes their data directories. */
  async close(): Promise<void> {
    for (const r of this.replicas) {
      if (r.child.signalCode === 'SIGSTOP' || r.child.exitCode === null) r.child.kill('SIGCONT');
      if (r.child.exitCode === null && r.child.signalCode === null) r.child.kill('SIGKILL');
      await r.exited;
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** A child's output as kept: the first OUTPUT_HEAD_BYTES, and the latest OUTPUT_TAIL_BYTES after them. */
class KeptOutput {
  private head = '';
  private tail = '';
  private dropped = 0;

  add(chunk: string): void {
    if (this.head.length < OUTPUT_HEAD_BYTES) {
      const room = OUTPUT_HEAD_BYTES - this.head.length;
      this.head += chunk.slice(0, room);
      chunk = chunk.slice(room);
    }
    this.tail += chunk;
    if (this.tail.length > 2 * OUTPUT_TAIL_BYTES) {
      this.dropped += this.tail.length - OUTPUT_TAIL_BYTES;
      this.tail = this.tail.slice(-OUTPUT_TAIL_BYTES);
    }
  }

  text(): string {
    return this.dropped > 0 ? `${this.head}\n[... ${this.dropped} characters left out ...]\n${this.tail}` : this.head + this.tail;
  }
}

/**
 * PUTs spread round-robin over the replicas given; every acknowledged (200) one is remembered, and so is
 * every later one whose answer never came (the connection failed after the request may have reached the
 * replica: a replica killed between its commit and its answer wrote it without acknowledging it).
 */
export class AcknowledgedWrites {
  /** The description each server was last acknowledged with. */
  readonly acknowledged = new Map<string, string>();
  /** Per server, the descriptions written after its last acknowledged one whose outcome is unknown, in order. */
  readonly unanswered = new Map<string, string[]>();
  /** How many writes were acknowledged. */
  acks = 0;
  private turn = 0;

  constructor(private readonly set: ReplicaSet) {}

  /** One PUT to the next of `targets`; answers whether it was acknowledged (a refused or failed one is not). */
  async write(targets: Replica[], name: string, description: string): Promise<boolean> {
    const r = targets[this.turn++ % targets.length]!;
    let res: ApiAnswer;
    try {
      res = await this.set.api(r, SERVERS, { method: 'PUT', body: { manifest: this.set.manifest(name, description) } });
    } catch (err) {
      // Refused connections never carried the request; any other failure may have come after the commit.
      if (!refusedConnection(err)) this.unanswered.set(name, [...(this.unanswered.get(name) ?? []), description]);
      return false;
    }
    if (res.status !== 200) return false;
    this.acks++;
    this.acknowledged.set(name, description);
    this.unanswered.delete(name);
    return true;
  }

  /**
   * The descriptions each server may hold now, with no acknowledged write lost: its last acknowledged one,
   * or one written after it whose answer never came. Any other (an older one) is a lost write.
   */
  possible(): Map<string, readonly string[]> {
    return new Map([...this.acknowledged].map(([name, description]) => [name, [description, ...(this.unanswered.get(name) ?? [])]]));
  }
}

/** fetch() failed because nothing listened (the replica was gone before the request was sent). */
function refusedConnection(err: unknown): boolean {
  const cause = (err as { cause?: { code?: string; errors?: { code?: string }[] } })?.cause;
  return cause?.code === 'ECONNREFUSED' || (cause?.errors?.length ?? 0) > 0 && cause!.errors!.every((e) => e.code === 'ECONNREFUSED');
}

/** What replicaSuite() set up, once its beforeAll ran. */
export interface ReplicaSuite {
  pg: TestPostgres;
  /** The upstream MCP server (two tools) every manifest() points at. */
  upstream: RunningMcpServer;
  set: ReplicaSet;
  /** set.replicas: r1, r2 and r3 first, then any the suite starts. */
  replicas: Replica[];
}

/**
 * Call in a describe block: before all of it, three replicas (r1, r2, r3) on a fresh schema of the test
 * PostgreSQL with a lease of SUITE_LEASE_MS, and their upstream; after all, every replica and the upstream
 * ended. Answers the suite, filled in once the beforeAll ran.
 */
export function replicaSuite(): ReplicaSuite {
  const suite = {} as ReplicaSuite;
  beforeAll(async () => {
    suite.pg = await testPostgres();
    const storeUrl = (await suite.pg.freshSchema()).url;
    suite.upstream = await startMcpServer({ transport: 'streamable-http', tools: 2 });
    suite.set = new ReplicaSet({ storeUrl, leaseMs: SUITE_LEASE_MS, upstreamUrl: suite.upstream.url });
    suite.replicas = suite.set.replicas;
    for (const name of ['r1', 'r2', 'r3']) await suite.set.start(name);
  }, POSTGRES_START_TIMEOUT_MS + 3 * READY_TIMEOUT_MS);
  afterAll(async () => {
    await suite.set?.close();
    await suite.upstream?.close();
  });
  return suite;
}
