// The egress policy: the rule table (no traffic at all), the connector and lookup on loopback only, and
// the whole path through the real control plane: a denied upstream is Ready=False EgressDenied, quickly.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { discover } from '../../src/discovery/discover.js';
import {
  addressBytes,
  EgressDeniedError,
  egressLookup,
  EgressPolicy,
  parseCidr,
} from '../../src/upstream/egress.js';
import { OAuthClientCredentials, OAuthError } from '../../src/upstream/oauth-client-credentials.js';
import { createServerFetch } from '../../src/upstream/server-fetch.js';
import type { DiscoveryTarget } from '../../src/discovery/types.js';
import { parseServeConfig, ConfigError } from '../../src/config.js';
import { remoteManifest, startTestControlPlane, waitFor } from '../support/control-plane.js';
import { FakeClock } from '../support/fake-clock.js';
import { startMcpServer, startOAuthTokenServer, type RunningMcpServer } from '../support/mcp-servers.js';

describe('egress rules (a table; nothing is sent anywhere)', () => {
  const defaults = new EgressPolicy();
  it.each([
    ['169.254.169.254', false, '169.254.0.0/16'],
    ['169.254.0.1', false, '169.254.0.0/16'],
    ['::ffff:169.254.169.254', false, '169.254.0.0/16'],
    ['::ffff:a9fe:a9fe', false, '169.254.0.0/16'],
    ['[::ffff:169.254.169.254]', false, '169.254.0.0/16'],
    ['fe80::1', false, 'fe80::/10'],
    ['fe80::1%eth0', false, 'fe80::/10'],
    ['febf:ffff::1', false, 'fe80::/10'],
    ['fec0::1', true, undefined],
    ['169.255.0.1', true, undefined],
    ['169.253.255.255', true, undefined],
    ['127.0.0.1', true, undefined],
    ['10.1.2.3', true, undefined],
    ['::1', true, undefined],
    ['not-an-address', false, 'not an IP address'],
  ])('default policy: %s allowed=%s', (address, allowed, rule) => {
    const d = defaults.check(address);
    expect(d.allowed).toBe(allowed);
    if (rule !== undefined) expect(d.rule).toBe(rule);
  });

  it('the most specific rule wins, deny wins a tie, and allow carves exceptions', () => {
    const p = new EgressPolicy({ deny: ['10.0.0.0/8', '0.0.0.0/0', '::/0'], allow: ['10.1.0.0/16', '127.0.0.0/8', '169.254.169.0/24', '10.9.0.0/16'] });
    expect(p.check('10.2.0.1')).toEqual({ allowed: false, rule: '10.0.0.0/8' });
    expect(p.check('10.1.2.3')).toEqual({ allowed: true, rule: '10.1.0.0/16' });
    expect(p.check('8.8.8.8')).toEqual({ allowed: false, rule: '0.0.0.0/0' });
    expect(p.check('2001:db8::1')).toEqual({ allowed: false, rule: '::/0' });
    expect(p.check('127.0.0.1').allowed).toBe(true);
    expect(p.check('169.254.169.254')).toEqual({ allowed: true, rule: '169.254.169.0/24' });
    expect(p.check('169.254.1.1')).toEqual({ allowed: false, rule: '169.254.0.0/16' });
    const tie = new EgressPolicy({ deny: ['192.0.2.0/24'], allow: ['192.0.2.0/24'] });
    expect(tie.check('192.0.2.1').allowed).toBe(false);
  });

  it('explicit denies add to the link-local defaults', () => {
    const p = new EgressPolicy({ deny: ['127.0.0.0/8'] });
    expect(p.check('127.0.0.5')).toEqual({ allowed: false, rule: '127.0.0.0/8' });
    expect(p.check('169.254.169.254').allowed).toBe(false);
  });

  it.each(['10.0.0.0/33', '10.0.0/8', 'fe80::/129', 'abc', '', '1.2.3.4/-1', '1.2.3.4/x', '::ffff:1.2.3.4/200'])('refuses the CIDR %j', (text) => {
    expect(() => parseCidr(text)).toThrow(/is not a CIDR range/);
  });

  it('parses addresses into bytes, mapped IPv6 as IPv4', () => {
    expect(addressBytes('1.2.3.4')).toEqual({ family: 4, bytes: Uint8Array.from([1, 2, 3, 4]) });
    expect(addressBytes('::ffff:1.2.3.4')).toEqual({ family: 4, bytes: Uint8Array.from([1, 2, 3, 4]) });
    expect(addressBytes('2001:db8::ff00:42:8329')?.bytes).toEqual(
      Uint8Array.from([0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0xff, 0, 0, 0x42, 0x83, 0x29]),
    );
    expect(parseCidr('::ffff:169.254.0.0/112')).toMatchObject({ family: 4, prefix: 16 });
  });

  it('the lookup answers only allowed addresses of a name, and refuses a name with none (DNS rebinding)', async () => {
    const p = new EgressPolicy();
    const fake = (answers: { address: string; family: number }[]) => (_h: string, _o: unknown, cb: (e: null, a: typeof answers) => void) => cb(null, answers);
    const run = (answers: { address: string; family: number }[], all: boolean) =>
      new Promise<{ err: unknown; address: unknown }>((resolve) =>
        egressLookup(p, fake(answers) as never)('metadata.example', { all }, (err, address) => resolve({ err, address })),
      );
    const denied = await run([{ address: '169.254.169.254', family: 4 }], true);
    expect(denied.err).toBeInstanceOf(EgressDeniedError);
    expect((denied.err as Error).message).toBe('egress to metadata.example is denied by the egress policy: it resolves to 169.254.169.254 (169.254.0.0/16)');
    const mixed = await run([{ address: '169.254.169.254', family: 4 }, { address: '192.0.2.10', family: 4 }], true);
    expect(mixed).toEqual({ err: null, address: [{ address: '192.0.2.10', family: 4 }] });
    const single = await run([{ address: 'fe80::1', family: 6 }, { address: '192.0.2.10', family: 4 }], false);
    expect(single).toEqual({ err: null, address: '192.0.2.10' });
  });

  it('serve flags: repeatable, comma-separated in the environment, every entry checked', () => {
    const base = ['--no-manifests'];
    const c = parseServeConfig([...base, '--egress-deny', '10.0.0.0/8', '--egress-deny', 'fd00::/8', '--egress-allow', '10.1.0.0/16'], {});
    expect(c.egressDeny).toEqual(['10.0.0.0/8', 'fd00::/8']);
    expect(c.egressAllow).toEqual(['10.1.0.0/16']);
    expect(parseServeConfig(base, { MCP_CP_EGRESS_DENY: '10.0.0.0/8, 192.168.0.0/16' }).egressDeny).toEqual(['10.0.0.0/8', '192.168.0.0/16']);
    expect(parseServeConfig(base, {}).egressDeny).toEqual([]);
    expect(() => parseServeConfig([...base, '--egress-deny', '10.0.0.0/40'], {})).toThrow(ConfigError);
    expect(() => parseServeConfig([...base, '--egress-allow', 'nope'], {})).toThrow(/--egress-allow: "nope" is not a CIDR range/);
  });
});

/** A plain HTTP server on a loopback address that counts the requests it gets. */
async function countingServer(host: string, handler?: (url: string, res: import('node:http').ServerResponse) => void) {
  const hits: string[] = [];
  const server: Server = createServer((req, res) => {
    hits.push(req.url ?? '');
    if (handler) handler(req.url ?? '', res);
    else res.writeHead(404).end();
  });
  await new Promise<void>((r) => server.listen(0, host, r));
  const port = (server.address() as AddressInfo).port;
  return {
    hits,
    origin: `http://${host}:${port}`,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

describe('egress on loopback: the connector, names, redirects, OAuth and discovery', () => {
  let upstream: RunningMcpServer;
  let target: Awaited<ReturnType<typeof countingServer>>;
  let redirector: Awaited<ReturnType<typeof countingServer>>;
  beforeAll(async () => {
    upstream = await startMcpServer({ transport: 'streamable-http', tools: 1 });
    // 127.0.0.2 is loopback too: the "denied range" of these tests.
    target = await countingServer('127.0.0.2', (_u, res) => res.writeHead(200, { 'content-type': 'text/plain' }).end('reached'));
    redirector = await countingServer('127.0.0.1', (_u, res) => res.writeHead(307, { location: `${target.origin}/mcp` }).end());
  });
  afterAll(async () => {
    await Promise.all([upstream.close(), target.close(), redirector.close()]);
  });
  beforeEach(() => {
    target.hits.length = 0;
  });

  const denyTarget = new EgressPolicy({ deny: ['127.0.0.2/32'] });

  it('a fetch through the policy reaches an allowed address and is refused a denied one, by literal and by name', async () => {
    const f = createServerFetch({ rejectUnauthorized: true }, { egress: denyTarget });
    try {
      expect((await f(`${redirector.origin}/x`, { redirect: 'manual' })).status).toBe(307); // 127.0.0.1 is allowed
      await expect(f(`${target.origin}/x`)).rejects.toMatchObject({ cause: expect.any(EgressDeniedError) });
      expect(target.hits).toEqual([]);
    } finally {
      await f.close();
    }
    const byName = createServerFetch({ rejectUnauthorized: true }, { egress: new EgressPolicy({ deny: ['127.0.0.0/8', '::1/128'] }) });
    try {
      const err = await byName(`http://localhost:${new URL(upstream.url).port}/mcp`).catch((e: unknown) => e);
      expect((err as { cause?: unknown }).cause).toBeInstanceOf(EgressDeniedError);
      expect(((err as { cause: Error }).cause).message).toMatch(/^egress to localhost is denied by the egress policy: it resolves to (127\.0\.0\.1|::1)/);
    } finally {
      await byName.close();
    }
    expect(upstream.requests).toEqual([]);
  });

  it('a redirect into a denied range is refused at the hop (and followed when allowed)', async () => {
    const allowed = createServerFetch({ rejectUnauthorized: true }, { egress: new EgressPolicy() });
    try {
      const res = await allowed(`${redirector.origin}/start`);
      expect(await res.text()).toBe('reached');
      expect(target.hits).toEqual(['/mcp']); // the control: without the rule the redirect lands
    } finally {
      await allowed.close();
    }
    target.hits.length = 0;
    const denied = createServerFetch({ rejectUnauthorized: true }, { egress: denyTarget });
    try {
      await expect(denied(`${redirector.origin}/start`)).rejects.toMatchObject({ cause: expect.any(EgressDeniedError) });
    } finally {
      await denied.close();
    }
    expect(target.hits).toEqual([]);
  });

  it('through an upstream proxy, a server named by a denied IP address is refused before the proxy is asked', async () => {
    const proxy = await countingServer('127.0.0.1');
    const f = createServerFetch({ rejectUnauthorized: true }, { egress: denyTarget, proxy: { url: proxy.origin, headers: {} } });
    try {
      // 127.0.0.2 stands for a metadata address here: nothing may be sent for it, not even to the proxy.
      await expect(f(`${target.origin}/mcp`)).rejects.toMatchObject({ cause: expect.any(EgressDeniedError) });
      expect(proxy.hits).toEqual([]);
    } finally {
      await f.close();
      await proxy.close();
    }
  });

  const discoveryTarget = (url: string): DiscoveryTarget => ({
    url,
    headers: {},
    tls: { rejectUnauthorized: true },
    timeoutMs: 5000,
    authConfigured: 'none',
  });

  it('discovery answers EgressDenied at once, and a redirect hop into a denied range gets nothing', async () => {
    // At once: the budget's clock never moves, so an answer cannot have waited for the budget to run out.
    const clock = new FakeClock();
    const direct = await discover(discoveryTarget(upstream.url), { egress: new EgressPolicy({ deny: ['127.0.0.0/8'] }), clock });
    expect(direct).toMatchObject({ ok: false, reason: 'EgressDenied' });
    expect(direct.ok === false && direct.message).toBe(
      `The control plane may not connect for ${upstream.url}: 127.0.0.1 is in a range the egress policy denies (127.0.0.0/8); use another URL, or an operator may allow it with --egress-allow.`,
    );
    // The MCP SDK follows redirects within the origin only (a cross-origin hop is a failed answer); hops it
    // does follow reconnect through the same Agent, so the connect-time check holds for them (see the fetch
    // test above). Either way the denied range gets nothing.
    const viaRedirect = await discover(discoveryTarget(`${redirector.origin}/mcp`), { egress: denyTarget, clock });
    expect(viaRedirect.ok).toBe(false);
    expect(target.hits).toEqual([]);
    expect(upstream.requests).toEqual([]);
    // The control: the same discovery is allowed without the rule.
    expect(await discover(discoveryTarget(upstream.url), { egress: new EgressPolicy() })).toMatchObject({ ok: true });
  });

  it('an OAuth token endpoint in a denied range is an OAuthError of kind EgressDenied, and gets no request', async () => {
    const tokens = await startOAuthTokenServer({ clientId: 'c', clientSecret: 'oauth-secret-value-123' });
    try {
      const oauth = new OAuthClientCredentials({ egress: new EgressPolicy({ deny: ['127.0.0.1/32'] }) });
      const err = await oauth
        .getToken({ tokenUrl: tokens.tokenUrl, clientId: 'c', clientSecret: 'oauth-secret-value-123', tls: { rejectUnauthorized: true } })
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(OAuthError);
      expect(err).toMatchObject({ kind: 'EgressDenied' });
      expect((err as Error).message).not.toContain('oauth-secret-value-123');
      expect(tokens.requests).toEqual([]);
    } finally {
      await tokens.close();
    }
  });
});

describe('egress through the real control plane', () => {
  it('--egress-deny 127.0.0.0/8: the server is Ready=False EgressDenied quickly and the upstream sees nothing', async () => {
    const upstream = await startMcpServer({ transport: 'streamable-http', tools: 1 });
    const cp = await startTestControlPlane({ args: ['--resync-interval', '0', '--egress-deny', '127.0.0.0/8'] });
    try {
      const put = await cp.api('/api/svc/v1/mcp-servers', { method: 'PUT', body: { manifest: remoteManifest({ url: upstream.url }) } });
      expect(put.status).toBe(200);
      // Quickly: denied before connecting, so the reason is EgressDenied and never a Timeout of the discovery.
      const ready = await waitFor(
        async () => {
          const r = await cp.api('/api/svc/v1/mcp-servers/name/github-tools');
          const c = r.json.data.status.conditions.find((x: { type: string }) => x.type === 'Ready');
          return c?.status === 'False' ? c : undefined;
        },
        { what: 'Ready=False' },
      );
      expect(ready.reason).toBe('EgressDenied');
      expect(ready.message).toContain('127.0.0.1 is in a range the egress policy denies (127.0.0.0/8)');
      expect(upstream.requests).toEqual([]);
    } finally {
      await cp.dispose();
      await upstream.close();
    }
  });
});
