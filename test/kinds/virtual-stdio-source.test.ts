// A virtual server over an mcp-server/stdio source: served through the gateway on the source's own
// supervised process; an auth_data override on a stdio source is SourceAuthNotApplicable.
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ADMIN_TOKEN, startTestControlPlane, waitFor, type TestControlPlane } from '../support/control-plane.js';

const SCRIPT = join(import.meta.dirname, '..', 'support', 'stdio-server.mjs');
const NODE = process.execPath;
const API = '/api/svc/v1/mcp-servers';
const everyone = [{ subject: 'team:everyone', role_id: 'mcp-server-user' }];

let cp: TestControlPlane;

async function ready(name: string) {
  return waitFor(
    async () => {
      const data = (await cp.api(`${API}/name/${name}`)).json?.data;
      const c = (data?.status?.conditions ?? []).find((x: { type: string }) => x.type === 'Ready');
      return c && c.observedGeneration === data.generation && c.status !== 'Unknown' ? c : undefined;
    },
    { what: `${name} settled` },
  );
}

beforeAll(async () => {
  cp = await startTestControlPlane({ args: ['--allow-stdio', '--stdio-allow', NODE] });
  const stdio = {
    type: 'mcp-server/stdio',
    name: 'local',
    description: 'Local tools',
    command: NODE,
    args: [SCRIPT],
    auth_data: { type: 'env', env: { LOCAL_TOKEN: 'x' } },
    collaborators: everyone,
  };
  expect((await cp.api(API, { method: 'PUT', body: { manifest: stdio } })).status).toBe(200);
  expect((await ready('local')).status).toBe('True');
});

afterAll(async () => {
  await cp?.dispose();
});

it('serves a stdio source\'s enabled tools through the virtual server', async () => {
  const virtual = { type: 'mcp-server/virtual', name: 'local-agent', description: 'Echo only', servers: [{ name: 'local', enabled_tools: ['echo', 'env_keys'] }], collaborators: everyone };
  expect((await cp.api(API, { method: 'PUT', body: { manifest: virtual } })).status).toBe(200);
  expect((await ready('local-agent')).status).toBe('True');
  const client = new Client({ name: 'virtual-stdio', version: '1.0.0' });
  await client.connect(new StreamableHTTPClientTransport(new URL(`${cp.url}/mcp/local-agent`), { requestInit: { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } } }));
  try {
    expect((await client.listTools()).tools.map((t) => t.name).sort()).toEqual(['echo', 'env_keys']);
    const echoed = await client.callTool({ name: 'echo', arguments: { text: 'hi' } });
    expect(JSON.parse((echoed.content as { text: string }[])[0]!.text)).toEqual({ text: 'hi' });
    const keys = JSON.parse(((await client.callTool({ name: 'env_keys', arguments: {} })).content as { text: string }[])[0]!.text) as string[];
    expect(keys).toContain('LOCAL_TOKEN');
    const pid = await client.callTool({ name: 'pid', arguments: {} });
    expect(pid.isError).toBe(true);
  } finally {
    await client.close();
  }
});

it('is Ready=False SourceAuthNotApplicable when it overrides a stdio source\'s auth_data', async () => {
  const virtual = {
    type: 'mcp-server/virtual',
    name: 'bad-override',
    description: 'Overrides what a stdio server does not have',
    servers: [{ name: 'local', auth_data: { type: 'header', headers: { Authorization: 'Bearer x' } } }],
    collaborators: everyone,
  };
  expect((await cp.api(API, { method: 'PUT', body: { manifest: virtual } })).status).toBe(200);
  const c = await ready('bad-override');
  expect(c).toMatchObject({ status: 'False', reason: 'SourceAuthNotApplicable' });
  expect(c.message).toContain('"local" is an mcp-server/stdio server');
});
