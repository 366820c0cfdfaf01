// Property-based fuzzing (fast-check) of the write paths, through the real server and the real file
// source: random and mutated manifests and bodies, as three different callers. Properties:
//   - never a 5xx (and no "unhandled error" in the log), never a crash;
//   - a rejected input (and a dry run) changes no stored byte: every row of resources, changelog,
//     events and counters, and of the gateway store, is compared before and after each case.
// Each property fuzzes a control plane of its own. While fuzzing, its reconciler is stopped so that only the
// input under test can write; afterwards a restarted control plane reconciles everything that was accepted,
// and still answers every read.
// Only loopback: every URL the generators can produce points at 127.0.0.1 (or is not a URL at all),
// and the restarted control plane denies every other address by its egress policy.
import Database from 'better-sqlite3';
import fc from 'fast-check';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { createLogger } from '../../src/logger.js';
import { startTestControlPlane, waitFor, type TestControlPlane } from '../support/control-plane.js';
import { captureStream, writeTokensFile } from './support.js';

// A fixed seed keeps CI deterministic; FUZZ_SEED=<n> (or FUZZ_SEED=random) explores other inputs locally.
// A failure prints the seed and the shrunk counterexample: add that input to fuzz-regressions.test.ts.
const FUZZ_SEED =
  process.env.FUZZ_SEED === 'random' ? Math.floor(Math.random() * 2 ** 31) : Number(process.env.FUZZ_SEED ?? 20261122);

const API = '/api/svc/v1/mcp-servers';
/** About 10 s each on an idle machine; generous, so that a busy one does not cut a property off. */
const FUZZ_TIMEOUT_MS = 300_000;
const NAMES = ['fz-a', 'fz-b', 'fz-c', 'fz-d', 'fz-e'];
/** Loopback, or not a URL the schema accepts. Nothing else is ever generated for a URL-like field. */
const URLS = ['http://127.0.0.1:9/mcp', 'https://127.0.0.1:9/sse', 'http://127.0.0.1:9/', 'http://127.0.0.1:9/mcp?x=1#f', 'not a url', 'ftp://127.0.0.1/x', '', 'http://'];
const URL_LIKE = /url|proxy|host|endpoint|uri/i;
const RESERVED = ['__proto__', 'constructor', 'prototype'];
const TOKENS = {
  admin: undefined,
  editor: 'fuzz-editor-token-0123456789',
  viewer: 'fuzz-viewer-token-0123456789',
} as const;

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/** Sets an own property, even "__proto__" (so JSON.stringify writes it as a key). */
function setOwn(o: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(o, key, { value, enumerable: true, writable: true, configurable: true });
}

const secretArb = fc.string({ minLength: 1, maxLength: 40 });
const dictArb = <T>(value: fc.Arbitrary<T>) => fc.dictionary(fc.string({ minLength: 1, maxLength: 12 }), value, { maxKeys: 4 });

const authArb = fc.oneof(
  fc.record({ type: fc.constant('header'), headers: dictArb(secretArb) }),
  fc.record({ type: fc.constant('header'), auth_level: fc.constantFrom('global', 'per_user', 'team'), headers: dictArb(secretArb) }),
  fc.record({
    type: fc.constant('oauth2'),
    grant_type: fc.constantFrom('client_credentials', 'authorization_code', 'password'),
    token_url: fc.constantFrom(...URLS),
    client_id: fc.string({ maxLength: 10 }),
    client_secret: secretArb,
  }),
  fc.record({ type: fc.constantFrom('passthrough', 'none', 'basic') }),
);

/** Wild: every field present or not, valid or not. */
const wildManifestArb = fc.record(
  {
    type: fc.constantFrom('mcp-server/remote', 'mcp-server/remote', 'mcp-server/remote', 'mcp-server/stdio', 'remote'),
    name: fc.constantFrom(...NAMES, 'FZ-UPPER', '-bad-', ''),
    description: fc.string({ maxLength: 40 }),
    url: fc.constantFrom(...URLS),
    collaborators: fc.array(
      fc.record({
        subject: fc.constantFrom('user:alice@example.com', 'team:blue', 'team:everyone', 'serviceaccount:ci', 'virtualaccount:v', 'group:x', 'user:', 'user:a b'),
        role_id: fc.constantFrom('mcp-server-manager', 'mcp-server-user', 'owner'),
      }),
      { maxLength: 4 },
    ),
    auth_data: authArb,
    additional_headers: dictArb(secretArb),
    tags: dictArb(fc.string({ maxLength: 10 })),
    tool_settings: fc.array(fc.record({ name: fc.string({ maxLength: 10 }), disabled: fc.boolean(), description: fc.string({ maxLength: 20 }) }, { requiredKeys: ['name'] }), { maxLength: 3 }),
    tls_settings: fc.record({ reject_unauthorized: fc.boolean() }),
    ownedBy: fc.record({ account: fc.constantFrom('default', 'acme', 'elsewhere', '') }),
    transport: fc.constantFrom('streamable-http', 'sse', 'stdio'),
    connection_type: fc.constantFrom('proxy', 'direct', 'tunnel'),
  },
  { requiredKeys: ['type', 'name', 'description', 'url', 'collaborators'] },
);

const HEADER_NAMES = ['Authorization', 'X-Api-Key', 'X-Extra'];
const headerMapArb = fc.dictionary(fc.constantFrom(...HEADER_NAMES), fc.string({ minLength: 1, maxLength: 30 }).filter((v) => !/[\r\n\u0000]/.test(v)), { maxKeys: 2 });

/** Valid (as far as these generators know the schema), so that plenty of inputs are accepted. */
const validManifestArb = fc.record(
  {
    type: fc.constant('mcp-server/remote'),
    name: fc.constantFrom(...NAMES),
    description: fc.string({ minLength: 1, maxLength: 40 }),
    url: fc.constantFrom(...URLS.slice(0, 4)),
    collaborators: fc.array(
      fc.record({
        subject: fc.constantFrom('user:alice@example.com', 'team:blue', 'team:everyone', 'serviceaccount:ci'),
        role_id: fc.constantFrom('mcp-server-manager', 'mcp-server-user'),
      }),
      { minLength: 1, maxLength: 3 },
    ),
    auth_data: fc.record({ type: fc.constant('header'), headers: headerMapArb.filter((h) => Object.keys(h).length > 0) }),
    additional_headers: headerMapArb,
    tags: fc.dictionary(fc.constantFrom('team', 'env', 'tier'), fc.constantFrom('a', 'b', 'prod'), { maxKeys: 2 }),
    tls_settings: fc.record({ reject_unauthorized: fc.boolean() }),
    ownedBy: fc.record({ account: fc.constantFrom('default', 'acme') }),
  },
  { requiredKeys: ['type', 'name', 'description', 'url', 'collaborators'] },
);

const manifestArb = fc.oneof({ weight: 3, arbitrary: validManifestArb }, { weight: 1, arbitrary: wildManifestArb });

const mutationArb = fc.record({
  at: fc.nat(),
  op: fc.constantFrom('delete', 'replace', 'add', 'reserved', 'long', 'deep', 'type', 'dup'),
  value: fc.jsonValue({ maxDepth: 3 }) as fc.Arbitrary<Json>,
  key: fc.oneof(fc.constantFrom(...RESERVED, '<<', 'type', 'name', 'x-secret', '$ref'), fc.string({ maxLength: 8 })),
  n: fc.integer({ min: 1, max: 120 }),
});
type Mutation = typeof mutationArb extends fc.Arbitrary<infer T> ? T : never;

/** Every path into a JSON value: [] for the root, then each key or index, depth first. */
function pathsOf(value: unknown, prefix: (string | number)[] = [], out: (string | number)[][] = []): (string | number)[][] {
  out.push(prefix);
  if (Array.isArray(value)) value.forEach((v, i) => pathsOf(v, [...prefix, i], out));
  else if (value && typeof value === 'object') for (const k of Object.keys(value)) pathsOf((value as Record<string, unknown>)[k], [...prefix, k], out);
  return out;
}

function safeFor(key: string | number | undefined, value: unknown, pick: number): unknown {
  return typeof key === 'string' && URL_LIKE.test(key) ? URLS[pick % URLS.length] : value;
}

/** Applies one mutation to a deep copy; answers the new root (a replaced root included). */
function mutate(root: unknown, m: Mutation): unknown {
  const copy = structuredClone(root);
  const paths = pathsOf(copy);
  const path = paths[m.at % paths.length]!;
  const parentPath = path.slice(0, -1);
  const last = path[path.length - 1];
  let parent: unknown = copy;
  for (const seg of parentPath) parent = (parent as Record<string | number, unknown>)[seg];
  const target = last === undefined ? copy : (parent as Record<string | number, unknown>)[last];
  const set = (v: unknown) => {
    if (last === undefined) return v;
    if (Array.isArray(parent)) parent[last as number] = v;
    else setOwn(parent as Record<string, unknown>, String(last), v);
    return copy;
  };
  switch (m.op) {
    case 'delete':
      if (last === undefined) return undefined;
      if (Array.isArray(parent)) parent.splice(last as number, 1);
      else delete (parent as Record<string, unknown>)[String(last)];
      return copy;
    case 'replace':
      return set(safeFor(last, m.value, m.n));
    case 'add':
      if (Array.isArray(target)) target.push(m.value);
      else if (target && typeof target === 'object') setOwn(target as Record<string, unknown>, m.key, safeFor(m.key, m.value, m.n));
      else return set(safeFor(last, m.value, m.n));
      return copy;
    case 'reserved': {
      const holder = target && typeof target === 'object' && !Array.isArray(target) ? (target as Record<string, unknown>) : copy && typeof copy === 'object' && !Array.isArray(copy) ? (copy as Record<string, unknown>) : undefined;
      if (holder) setOwn(holder, RESERVED[m.n % 3]!, { polluted: true, role: 'admin', ...(m.value && typeof m.value === 'object' ? {} : { v: m.value }) });
      return copy;
    }
    case 'long':
      return set(safeFor(last, (m.n % 2 ? 'x' : 'é✓\u0000\ud83d\ude00').repeat(m.n * 40), m.n));
    case 'deep': {
      let v: unknown = m.value;
      for (let i = 0; i < m.n; i++) v = i % 2 ? [v] : { [m.key || 'k']: v };
      return set(v);
    }
    case 'type': {
      const swaps = [null, true, 0, -1.5, 1e308, '', [], {}, [target], { v: target }];
      return set(safeFor(last, swaps[m.n % swaps.length], m.n));
    }
    case 'dup':
      if (Array.isArray(target) && target.length > 0) target.push(structuredClone(target[m.n % target.length]));
      return copy;
  }
}

const mutationsArb = fc.oneof({ weight: 1, arbitrary: fc.constant([]) }, { weight: 1, arbitrary: fc.array(mutationArb, { minLength: 1, maxLength: 3 }) });
const mutatedArb = fc.tuple(manifestArb, mutationsArb).map(([m, ms]) => ms.reduce<unknown>((acc, x) => mutate(acc, x), m));

const envelopeArb = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.record(
      { manifest: mutatedArb, dryRun: fc.constantFrom(false, false, false, true), force: fc.boolean(), metadata: dictArb(fc.jsonValue({ maxDepth: 2 })) },
      { requiredKeys: ['manifest'] },
    ),
  },
  {
    weight: 1,
    arbitrary: fc.record(
      {
        manifest: mutatedArb,
        dryRun: fc.oneof(fc.boolean(), fc.constant('yes' as unknown as boolean)),
        force: fc.jsonValue({ maxDepth: 1 }),
        metadata: fc.jsonValue({ maxDepth: 2 }),
        extra: fc.jsonValue({ maxDepth: 1 }),
      },
      { requiredKeys: ['manifest'] },
    ),
  },
);

/** JSON text, sometimes damaged: cut short, a byte changed, or something else entirely. */
const bodyTextArb = fc.oneof(
  { weight: 6, arbitrary: envelopeArb.map((e) => JSON.stringify(e)) },
  { weight: 1, arbitrary: fc.tuple(envelopeArb, fc.nat(), fc.string({ maxLength: 3 })).map(([e, at, s]) => { const t = JSON.stringify(e); const i = at % (t.length + 1); return t.slice(0, i) + s + t.slice(i + (at % 3)); }) },
  { weight: 1, arbitrary: fc.json({ maxDepth: 4 }) },
  { weight: 1, arbitrary: fc.string({ maxLength: 60 }) },
);

const caseArb = fc.record({
  body: bodyTextArb,
  contentType: fc.oneof(
    { weight: 6, arbitrary: fc.constantFrom('application/json', 'application/json; charset=utf-8') },
    { weight: 1, arbitrary: fc.constantFrom('application/merge-patch+json', 'text/plain', 'application/json; charset=latin1', 'application/yaml') },
  ),
  who: fc.constantFrom<keyof typeof TOKENS>('admin', 'admin', 'editor', 'viewer'),
  route: fc.oneof({ weight: 8, arbitrary: fc.constant('put') }, { weight: 1, arbitrary: fc.constantFrom('delete', 'list', 'gaia-post', 'gaia-patch') }),
  name: fc.constantFrom(...NAMES, '..%2f', 'x'.repeat(300)),
  query: fc.dictionary(fc.constantFrom('limit', 'offset', 'name', 'tag', 'watch', 'resourceVersion', 'x'), fc.string({ maxLength: 8 }), { maxKeys: 3 }),
});

/** A YAML file: a mutated manifest, damaged text, or YAML's sharper edges. */
const fileArb = fc.oneof(
  { weight: 4, arbitrary: mutatedArb.map((m) => ({ ext: 'yaml', text: stringify(m ?? null) })) },
  { weight: 2, arbitrary: fc.tuple(mutatedArb, fc.nat(), fc.string({ maxLength: 6 })).map(([m, at, s]) => { const t = stringify(m ?? null); const i = at % (t.length + 1); return { ext: 'yaml', text: t.slice(0, i) + s + t.slice(i) }; }) },
  { weight: 1, arbitrary: fc.tuple(mutatedArb, mutatedArb).map(([a, b]) => ({ ext: 'yaml', text: `${stringify(a ?? null)}---\n${stringify(b ?? null)}` })) },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      'a: &a [x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b]\nd: [*c, *c, *c, *c, *c, *c, *c, *c]\n',
      'base: &b {name: fz-a}\n<<: *b\ntype: mcp-server/remote\n',
      '__proto__: {polluted: true}\ntype: mcp-server/remote\nname: fz-a\n',
      '\t- tab\n',
      '!!js/function "function(){}"\n',
      `${'['.repeat(500)}${']'.repeat(500)}\n`,
      'key: "unterminated\n',
    ).map((text) => ({ ext: 'yaml', text })),
  },
  { weight: 1, arbitrary: envelopeArb.map((e) => ({ ext: 'json', text: JSON.stringify(e.manifest ?? null) })) },
);

/** Which rows of a snapshot differ, for the failure message. */
function describeChange(before: string, after: string): string {
  const a = JSON.parse(before) as unknown[][];
  const b = JSON.parse(after) as unknown[][];
  const tables = ['resources', 'changelog', 'counters', 'events', 'gateway_entries'];
  return tables
    .map((t, i) => {
      const x = (a[i] ?? []).map((r) => JSON.stringify(r));
      const y = (b[i] ?? []).map((r) => JSON.stringify(r));
      const gone = x.filter((r) => !y.includes(r));
      const added = y.filter((r) => !x.includes(r));
      return gone.length || added.length ? `${t}:\n  - ${gone.join('\n  - ')}\n  + ${added.join('\n  + ')}` : '';
    })
    .filter(Boolean)
    .join('\n');
}

/** A control plane of its own for one property: its reconciler stopped, its stores open read-only for snapshots. */
interface FuzzPlane {
  cp: TestControlPlane;
  dir: string;
  manifests: string;
  log: ReturnType<typeof captureStream>;
  /** Every row of resources, changelog, counters (and events), and of the gateway store. */
  snapshot(withEvents: boolean): string;
  /** Closes the snapshot connections (before a restart on the same data dir). */
  closeSnapshots(): void;
  dispose(): Promise<void>;
}

async function startFuzzPlane(): Promise<FuzzPlane> {
  const dir = mkdtempSync(join(tmpdir(), 'mcp-fuzz-'));
  const manifests = join(dir, 'manifests');
  mkdirSync(manifests);
  writeTokensFile(join(dir, 'tokens.yaml'), [
    { token: TOKENS.editor, subject: 'user:alice@example.com', role: 'editor', teams: ['blue'], accounts: ['default', 'acme'] },
    { token: TOKENS.viewer, subject: 'user:vera@example.com', role: 'viewer', teams: ['blue'] },
  ]);
  const log = captureStream();
  const cp = await startTestControlPlane({
    dataDir: join(dir, 'data'),
    manifests: [manifests],
    args: ['--resync-interval', '0', '--tokens-file', join(dir, 'tokens.yaml')],
    logger: createLogger({ level: 'warn', destination: log.stream }),
  });
  // Only the input under test writes from here on.
  await cp.controller.stop();
  cp.discovery.stop();
  const db = new Database(join(cp.dataDir, 'control-plane.db'), { readonly: true });
  const gw = new Database(join(cp.dataDir, 'gateway.db'), { readonly: true });
  const closeSnapshots = () => {
    if (db.open) db.close();
    if (gw.open) gw.close();
  };
  return {
    cp,
    dir,
    manifests,
    log,
    snapshot: (withEvents) =>
      JSON.stringify([
        db.prepare('SELECT * FROM resources ORDER BY fqn').all(),
        db.prepare('SELECT * FROM changelog ORDER BY resource_version').all(),
        db.prepare('SELECT * FROM counters').all(),
        withEvents ? db.prepare('SELECT * FROM events ORDER BY id').all() : [],
        gw.prepare('SELECT * FROM gateway_entries ORDER BY fqn').all(),
      ]),
    closeSnapshots,
    async dispose() {
      closeSnapshots();
      await cp.dispose();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Restarts the plane's control plane on its data dir: everything accepted is reconciled, every read answers. */
async function restartedReconcilesEverything(plane: FuzzPlane): Promise<void> {
  const { cp, dir, manifests, log } = plane;
  plane.closeSnapshots();
  await cp.stop();
  const again = await startTestControlPlane({
    dataDir: cp.dataDir,
    manifests: [manifests],
    // Loopback only, whatever was stored.
    args: ['--resync-interval', '0', '--tokens-file', join(dir, 'tokens.yaml'), '--egress-deny', '0.0.0.0/0', '--egress-deny', '::/0', '--egress-allow', '127.0.0.0/8', '--discovery-timeout', '2s'],
    logger: createLogger({ level: 'warn', destination: log.stream }),
  });
  try {
    const list = await again.api(`${API}?limit=1000`);
    expect(list.status).toBe(200);
    for (const s of list.json.data as { manifest: { url: string } }[]) expect(new URL(s.manifest.url).hostname).toBe('127.0.0.1');
    await waitFor(
      async () => {
        const l = await again.api(`${API}?limit=1000`);
        return (l.json.data as { generation: number; status: { observedGeneration: number; conditions: { type: string }[] } }[]).every(
          (s) => s.status.observedGeneration === s.generation && s.status.conditions.some((c) => c.type === 'Ready'),
        );
      },
      { what: 'every accepted server reconciled', timeoutMs: 30_000 },
    );
    for (const s of (await again.api(`${API}?limit=1000`)).json.data as { id: string; name: string }[]) {
      for (const path of [`${API}/${s.id}`, `${API}/name/${s.name}`, `${API}/${s.id}/events`]) expect((await again.api(path)).status).toBe(200);
    }
    for (const path of ['/api/svc/v1/events?limit=1000', '/api/svc/v1/gateway/servers', '/api/svc/v1/sources', '/readyz']) {
      expect((await again.api(path)).status).toBeLessThan(500);
    }
    expect(log.text()).not.toContain('unhandled error');
  } finally {
    await again.stop();
  }
}

// Each property has a control plane of its own, so that one that fails (or runs out of time and goes on in
// the background) cannot change the state another one compares.
describe('fuzzing the HTTP write paths', () => {
  let plane: FuzzPlane;
  beforeAll(async () => {
    plane = await startFuzzPlane();
  });
  afterAll(async () => {
    await plane?.dispose();
  });

  it('HTTP: never a 5xx, and a rejected input or a dry run changes nothing', async () => {
    let accepted = 0;
    let refused = 0;
    await fc.assert(
      fc.asyncProperty(caseArb, async (c) => {
        const token = TOKENS[c.who];
        const headers = { 'content-type': c.contentType };
        const qs = new URLSearchParams(c.query).toString();
        const request: [string, Parameters<TestControlPlane['api']>[1]] =
          c.route === 'put'
            ? [API, { method: 'PUT', rawBody: c.body, headers, token }]
            : c.route === 'delete'
              ? [`${API}/name/${encodeURIComponent(c.name)}`, { method: 'DELETE', token }]
              : c.route === 'list'
                ? [`${API}?${qs}`, { token }]
                : c.route === 'gaia-post'
                  ? ['/api/mcp/servers', { method: 'POST', rawBody: c.body, headers, token }]
                  : [`/api/mcp/servers/${encodeURIComponent(c.name)}`, { method: 'PATCH', rawBody: c.body, headers, token }];
        if (c.route === 'list' && c.query.watch !== undefined) return; // a stream, not an answer
        const before = plane.snapshot(true);
        const r = await plane.cp.api(...request);
        if (r.status >= 500) throw new Error(`${request[1]?.method ?? 'GET'} ${request[0]} answered ${r.status}: ${r.text}\nbody: ${c.body.slice(0, 500)}`);
        const dryRun = r.status < 300 && r.json?.dryRun === true;
        if (r.status >= 300 || dryRun || c.route === 'list') {
          refused++;
          const after = plane.snapshot(true);
          if (after !== before) throw new Error(`${request[0]} answered ${r.status} but changed stored state; body: ${c.body.slice(0, 500)}`);
        } else {
          accepted++;
        }
        expect(({} as Record<string, unknown>).polluted).toBeUndefined();
      }),
      { numRuns: 1500, seed: FUZZ_SEED },
    );
    // The generators reach both sides of every check.
    process.stdout.write(`fuzz HTTP: ${accepted} accepted, ${refused} refused or read-only\n`);
    expect(accepted).toBeGreaterThan(60);
    expect(refused).toBeGreaterThan(500);
    expect(plane.log.text()).not.toContain('unhandled error');
  }, FUZZ_TIMEOUT_MS);

  it('a restarted control plane reconciles everything accepted and answers every read', () => restartedReconcilesEverything(plane), 60_000);
});

describe('fuzzing the file source', () => {
  let plane: FuzzPlane;
  beforeAll(async () => {
    plane = await startFuzzPlane();
  });
  afterAll(async () => {
    await plane?.dispose();
  });

  it('the file source: a refused file changes no stored state; nothing crashes', async () => {
    let refusedFiles = 0;
    let appliedFiles = 0;
    let cases = 0;
    await fc.assert(
      fc.asyncProperty(fileArb, async ({ ext, text: generated }) => {
        const path = `fuzz.${ext}`;
        // Unique bytes per case, so "synced" below means this write was read (not an earlier equal one).
        const text = ext === 'json' ? `${generated}${' '.repeat(++cases)}` : `${generated}\n# fuzz case ${++cases}\n`;
        const before = plane.snapshot(false);
        writeFileSync(join(plane.manifests, path), text);
        const hash = `sha256:${createHash('sha256').update(text).digest('hex')}`;
        const file = await waitFor(
          async () => {
            const s = await plane.cp.api('/api/svc/v1/sources');
            if (s.status >= 500) throw new Error(`sources answered ${s.status}`);
            return s.json.data[0].files.find((f: { path: string; contentHash: string }) => f.path === path && f.contentHash === hash);
          },
          { what: `${path} synced` },
        );
        if (file.errors.length > 0) {
          refusedFiles++;
          const after = plane.snapshot(false);
          if (after !== before) throw new Error(`a refused file changed stored state: ${JSON.stringify(file.errors)}\n${text.slice(0, 500)}\n${describeChange(before, after)}`);
        } else {
          appliedFiles++;
        }
        expect(({} as Record<string, unknown>).polluted).toBeUndefined();
        expect((await plane.cp.api('/healthz')).status).toBe(200);
      }),
      { numRuns: 120, seed: FUZZ_SEED },
    );
    expect(refusedFiles).toBeGreaterThan(20);
    expect(appliedFiles + refusedFiles).toBe(120);
    expect(plane.log.text()).not.toContain('unhandled error');
  }, FUZZ_TIMEOUT_MS);

  it('a restarted control plane reconciles everything accepted and answers every read', () => restartedReconcilesEverything(plane), 60_000);
});
