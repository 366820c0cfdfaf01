// A 401 from the upstream in the middle of a gateway session, for the caller's OAuth token: the gateway
// refreshes the token once and sends the request again, on the same session; when the refresh fails,
// the request is answered with the error a caller who must connect gets (its message and data name the
// connect URL), and nothing else is tried.
import { McpError } from '@modelcontextprotocol/sdk/types.js';
import { ALICE_TOKEN, connectClient } from '../gateway/gateway-support.js';
import { startOidcUpstream, type OidcUpstream } from './oidc-upstream.js';

let up: OidcUpstream;

beforeAll(async () => {
  up = await startOidcUpstream('midsession');
  await up.connectAlice();
}, 60_000);
afterAll(async () => {
  await up?.close();
});

it('refreshes the token once on an upstream 401 within a session, then the same session carries on', async () => {
  const c = await connectClient(up.cp, 'midsession', ALICE_TOKEN);
  try {
    expect((await c.client.listTools()).tools.map((t) => t.name)).toContain('echo');
    const from = up.recorder.requests.length;
    // The upstream stops accepting every token it knows (it revoked them, say).
    up.valid.clear();
    const result = await c.client.callTool({ name: 'echo', arguments: { text: 'again' } });
    expect(JSON.stringify(result.content)).toContain('again');
    const sent = up.bearersSince(from);
    expect(sent.length).toBe(2);
    expect(up.valid.has(sent[1]!.slice(7))).toBe(true);
  } finally {
    await c.client.close();
  }
});

it('answers the connect error within the session when the refresh fails, naming where to connect', async () => {
  const c = await connectClient(up.cp, 'midsession', ALICE_TOKEN);
  try {
    expect((await c.client.listTools()).tools.map((t) => t.name)).toContain('echo');
    for (const rt of up.refreshTokens) await (await up.provider.RefreshToken.find(rt))?.destroy();
    up.valid.clear();
    const from = up.recorder.requests.length;
    const failed = await c.client.callTool({ name: 'echo', arguments: { text: 'x' } }).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(failed).toBeInstanceOf(McpError);
    const error = failed as McpError;
    expect(error.code).toBe(-32040);
    expect(error.message).toMatch(/could not be refreshed/);
    expect(error.data).toMatchObject({ method: 'oauth', connectUrl: expect.stringContaining('/api/svc/v1/mcp-servers/') });
    // One attempt with the refused token; no second request upstream.
    expect(up.recorder.requests.length - from).toBe(1);
    const status = (await up.cp.api('/api/svc/v1/mcp-servers/name/midsession', { token: ALICE_TOKEN })).json.data.authStatus;
    expect(status).toMatchObject({ status: 'authentication_required', method: 'oauth' });
  } finally {
    await c.client.close();
  }
});
