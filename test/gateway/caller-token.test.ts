// Passthrough never hands an upstream a credential the control plane accepts: an editor registers a
// server at a listener of their own; what the listener gets when the admin (or anyone) uses it through
// /mcp/<name> is a JWT minted for that caller and that URL, verifiable at /.well-known/jwks.json and
// useless against the control plane. And /mcp/<name> does not tell a server the caller may not use from
// one that does not exist. Real control plane on port 0, real SDK clients and servers on loopback.
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sha256Hex, StaticTokenAuthenticator } from '../../src/auth/authenticator.js';
import type { Principal } from '../../src/domain/principal.js';
import { ADMIN_TOKEN, remoteManifest, startTestControlPlane, waitFor, type TestControlPlane } from '../support/control-plane.js';
import { startMcpServer, type McpTransportKind, type RunningMcpServer } from '../support/mcp-servers.js';
import { ALICE, ALICE_TOKEN, connectClient, GATEWAY_TEST_ARGS, GATEWAY_TOOLS, putServer, type GatewayClient } from './gateway-support.js';

/** Eve, an editor, from --tokens-file. */
const EDITOR_TOKEN = 'editor-token-4d2c8e1a9b7f3c5d';
const OUTSIDER_TOKEN = 'outsider-token-7e3a1c9d5b2f8a4e';
/** A user of another account, with no servers of its own here. */
const OUTSIDER: Principal = { ...ALICE, subject: { ...ALICE.subject, subjectId: 'user:olga@example.com' }, accounts: ['initech'] };

let cp: TestControlPlane;
let tokensDir: string;
const upstreams: RunningMcpServer[] = [];
const clients: GatewayClient[] = [];

beforeAll(async () => {
  tokensDir = mkdtempSync(join(tmpdir(), 'mcp-cp-tokens-'));
  const tokensFile = join(tokensDir, 'tokens.yaml');
  writeFileSync(tokensFile, [`- token_sha256: ${sha256Hex(EDITOR_TOKEN)}`, '  subject: { type: user, slug: eve@example.com }', '  role: editor', '  accounts: [default]', ''].join('\n'));
  cp = await startTestControlPlane({
    args: [...GATEWAY_TEST_ARGS, '--tokens-file', tokensFile],
    authenticators: [new StaticTokenAuthenticator(ALICE_TOKEN, ALICE), new StaticTokenAuthenticator(OUTSIDER_TOKEN, OUTSIDER)],
  });
});
afterAll(async () => {
  await cp.dispose();
  rmSync(tokensDir, { recursive: true, force: true });
});
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.client.close().catch(() => undefined)));
  await Promise.all(upstreams.splice(0).map((u) => u.close()));
});

/** A listener that records what arrives (every request's headers), as an editor's own server would. */
async function listener(transport: McpTransportKind): Promise<RunningMcpServer> {
  const server = await startMcpServer({ transport, tools: GATEWAY_TOOLS, stateful: transport === 'streamable-http' });
  upstreams.push(server);
  return server;
}

async function connect(name: string, token: string): Promise<GatewayClient> {
  const c = await connectClient(cp, name, token);
  clients.push(c);
  return c;
}

/** PUT as the editor (its manager), then wait as putServer does. */
async function putAsEditor(given: Record<string, unknown>): Promise<void> {
  const others = (given.collaborators as unknown[] | undefined) ?? [];
  const manifest = { ...given, collaborators: [{ subject: 'user:eve@example.com', role_id: 'mcp-server-manager' }, ...others] };
  const res = await cp.api('/api/svc/v1/mcp-servers', { method: 'PUT', token: EDITOR_TOKEN, body: { manifest: remoteManifest(manifest) } });
  expect(res.status).toBe(200);
  expect(res.json.data.createdBySubject.subjectId).toBe('user:eve@example.com');
  await putServer(cp, manifest); // the same manifest, UNCHANGED: it only waits for the gateway store and discovery
}

/** The bearer tokens of the requests the upstream got since `from`. */
function bearersSince(u: RunningMcpServer, from: number): string[] {
  return u.requests.slice(from).map((r) => {
    const value = r.headers.authorization;
    expect(typeof value).toBe('string');
    expect(value).toMatch(/^Bearer [\w-]+\.[\w-]+\.[\w-]+$/);
    return (value as string).slice('Bearer '.length);
  });
}

const jwks = () => createRemoteJWKSet(new URL(`${cp.url}/.well-known/jwks.json`));

describe.each<McpTransportKind>(['streamable-http', 'sse'])('a passthrough server over %s', (kind) => {
  const name = `eves-listener-${kind === 'sse' ? 'sse' : 'http'}`;

  it("sends the upstream a JWT minted for the caller and its URL, never the caller's token", async () => {
    const u = await listener(kind);
    await putAsEditor({ name, url: u.url, auth_data: { type: 'passthrough' }, collaborators: [{ subject: 'user:alice@example.com', role_id: 'mcp-server-user' }] });

    const before = u.requests.length;
    const { client } = await connect(name, ADMIN_TOKEN);
    expect((await client.listTools()).tools.map((t) => t.name)).toEqual(['echo', 'secret-admin', 'plain']);
    await client.callTool({ name: 'plain', arguments: {} });
    const received = bearersSince(u, before);
    expect(received.length).toBeGreaterThanOrEqual(3);
    for (const r of u.requests.slice(before)) expect(JSON.stringify(r.headers)).not.toContain(ADMIN_TOKEN);
    expect(new Set(received).size).toBe(1); // one token for the session's life (minutes), minted once

    const token = received[0]!;
    const { payload, protectedHeader } = await jwtVerify(token, jwks(), { issuer: cp.publicUrl, audience: u.url, algorithms: ['ES256'] });
    expect(protectedHeader).toMatchObject({ alg: 'ES256', typ: 'JWT' });
    expect(payload.sub).toBe('admin');
    expect(payload.aud).toBe(u.url);
    expect(payload.exp! - payload.iat!).toBe(300);
    expect(payload.jti).toEqual(expect.any(String));

    // The token is the upstream's to check, not a key to the control plane.
    const api = await cp.api('/api/svc/v1/mcp-servers', { token });
    expect(api.status).toBe(401);
    const gateway = await fetch(`${cp.url}/mcp/${name}`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: '{}' });
    expect(gateway.status).toBe(401);

    // Another caller gets a token of her own: her subject, never her token.
    const from = u.requests.length;
    const alice = await connect(name, ALICE_TOKEN);
    await alice.client.listTools();
    for (const r of u.requests.slice(from)) expect(JSON.stringify(r.headers)).not.toContain(ALICE_TOKEN);
    const hers = bearersSince(u, from);
    const verified = await jwtVerify(hers[0]!, jwks(), { issuer: cp.publicUrl, audience: u.url });
    expect(verified.payload.sub).toBe('user:alice@example.com');
    expect(verified.payload.jti).not.toBe(payload.jti);

    // Nor does a token of the tokens file leave, not even to its owner's own server.
    const fromEve = u.requests.length;
    await (await connect(name, EDITOR_TOKEN)).client.listTools();
    for (const r of u.requests.slice(fromEve)) expect(JSON.stringify(r.headers)).not.toContain(EDITOR_TOKEN);
    expect((await jwtVerify(bearersSince(u, fromEve)[0]!, jwks(), { issuer: cp.publicUrl, audience: u.url })).payload.sub).toBe('user:eve@example.com');
  });
});

it('publishes the public key alone, without a token, cacheable, with the kid the tokens name', async () => {
  const res = await fetch(`${cp.url}/.well-known/jwks.json`);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^application\/jwk-set\+json/);
  expect(res.headers.get('cache-control')).toMatch(/max-age=\d+/);
  const { keys } = (await res.json()) as { keys: Record<string, unknown>[] };
  expect(keys).toHaveLength(1);
  expect(keys[0]).toEqual({ kty: 'EC', crv: 'P-256', x: expect.any(String), y: expect.any(String), kid: expect.any(String), alg: 'ES256', use: 'sig' });

  const u = await listener('streamable-http');
  await putServer(cp, { name: 'kid-check', url: u.url, auth_data: { type: 'passthrough' } });
  const before = u.requests.length;
  await (await connect('kid-check', ADMIN_TOKEN)).client.listTools();
  expect(decodeProtectedHeader(bearersSince(u, before)[0]!).kid).toBe(keys[0]!.kid);
});

it("answers another account's server exactly as a missing one", async () => {
  const u = await listener('streamable-http');
  // Usable by everyone in account globex; Olga is in initech.
  await putServer(cp, { name: 'globex-tools', url: u.url, ownedBy: { account: 'globex' } });
  const before = u.requests.length;
  const ask = async () => {
    const res = await fetch(`${cp.url}/mcp/globex-tools`, {
      method: 'POST',
      headers: { authorization: `Bearer ${OUTSIDER_TOKEN}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'x', version: '1' } } }),
    });
    return { status: res.status, type: res.headers.get('content-type'), body: await res.text() };
  };
  const existing = await ask();
  expect(u.requests.length).toBe(before);

  expect((await cp.api('/api/svc/v1/mcp-servers/name/globex-tools', { method: 'DELETE' })).status).toBe(200);
  await waitFor(async () => (await cp.gateway.get('default:mcp-server:globex-tools')) === undefined, { what: 'the gateway entry to go' });
  const missing = await ask();
  expect(missing.status).toBe(404);
  expect(existing).toEqual(missing);
});
