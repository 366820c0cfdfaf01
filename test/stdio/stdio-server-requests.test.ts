// Requests a stdio server sends its client (sampling, elicitation, roots/list), through the gateway: each
// goes to the one client session it can be for and its answer back to the process; where no single
// session can be meant, or the client did not declare the capability, the server gets an error saying
// so. The server is test/support/stdio-asking-server.mjs, run by node under the real supervisor.
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { CreateMessageRequestSchema, ElicitRequestSchema, ListRootsRequestSchema, type CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { join } from 'node:path';
import { ADMIN_TOKEN, startTestControlPlane, waitFor, type TestControlPlane } from '../support/control-plane.js';

const NODE = process.execPath;
const SCRIPT = join(import.meta.dirname, '..', 'support', 'stdio-asking-server.mjs');
const NAME = 'asking';

let cp: TestControlPlane;
const clients: Client[] = [];

beforeAll(async () => {
  cp = await startTestControlPlane({ args: ['--allow-stdio', '--stdio-allow', NODE, '--resync-interval', '0'] });
  const put = await cp.api('/api/svc/v1/mcp-servers', { method: 'PUT', body: { manifest: { type: 'mcp-server/stdio', name: NAME, description: 'Asks its client things.', command: NODE, args: [SCRIPT], collaborators: [] } } });
  expect(put.status).toBe(200);
  await waitFor(
    async () => {
      const conditions = (await cp.api(`/api/svc/v1/mcp-servers/name/${NAME}`)).json.data.status.conditions as { type: string; status: string }[];
      return conditions.find((c) => c.type === 'Ready')?.status === 'True';
    },
    { what: `${NAME} to be Ready` },
  );
});
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
});
afterAll(async () => {
  await cp.dispose();
});

interface Asked {
  sampling: number;
  elicitation: number;
  roots: number;
}

/** A client through /mcp/asking declaring `capabilities`; its handlers count what they were asked. */
async function connect(capabilities: Record<string, unknown>, onElicit?: () => Promise<void>): Promise<{ client: Client; asked: Asked }> {
  const asked: Asked = { sampling: 0, elicitation: 0, roots: 0 };
  const client = new Client({ name: 'asked-client', version: '1.0.0' }, { capabilities });
  if (capabilities.sampling) {
    client.setRequestHandler(CreateMessageRequestSchema, () => {
      asked.sampling++;
      return { role: 'assistant', model: 'test-model', content: { type: 'text', text: 'hello from the client' } };
    });
  }
  if (capabilities.elicitation) {
    client.setRequestHandler(ElicitRequestSchema, async () => {
      asked.elicitation++;
      await onElicit?.();
      return { action: 'accept', content: { name: 'Ada' } };
    });
  }
  if (capabilities.roots) {
    client.setRequestHandler(ListRootsRequestSchema, () => {
      asked.roots++;
      return { roots: [{ uri: 'file:///work/project', name: 'project' }] };
    });
  }
  await client.connect(new StreamableHTTPClientTransport(new URL(`${cp.url}/mcp/${NAME}`), { requestInit: { headers: { Authorization: `Bearer ${ADMIN_TOKEN}` } } }));
  clients.push(client);
  return { client, asked };
}

const ALL = { sampling: {}, elicitation: {}, roots: {} };
const textOf = (result: unknown) => (result as CallToolResult).content.map((c) => (c.type === 'text' ? c.text : '')).join('');

it("relays the server's sampling, elicitation and roots requests to the client and its answers back", async () => {
  const { client, asked } = await connect(ALL);
  expect(textOf(await client.callTool({ name: 'ask', arguments: {} }))).toBe('hello from the client');
  expect(JSON.parse(textOf(await client.callTool({ name: 'elicit', arguments: {} })))).toEqual({ name: 'Ada' });
  expect(JSON.parse(textOf(await client.callTool({ name: 'roots', arguments: {} })))).toEqual(['file:///work/project']);
  expect(asked).toEqual({ sampling: 1, elicitation: 1, roots: 1 });
});

it('sends the request to the session whose call it came during, not to another open session', async () => {
  const a = await connect(ALL);
  const b = await connect(ALL);
  expect(textOf(await b.client.callTool({ name: 'ask', arguments: {} }))).toBe('hello from the client');
  expect(b.asked.sampling).toBe(1);
  expect(a.asked.sampling).toBe(0);
});

it('answers the server an error when the client did not declare the capability', async () => {
  const { client } = await connect({});
  const result = (await client.callTool({ name: 'ask', arguments: {} })) as CallToolResult;
  expect(result.isError).toBe(true);
  expect(textOf(result)).toMatch(/did not declare the sampling capability/);
});

it('answers the server an error, and asks nobody, when two sessions have calls in flight', async () => {
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  const a = await connect(ALL, () => released);
  const b = await connect(ALL);
  // a's call is in flight while its client is being asked.
  const elicit = a.client.callTool({ name: 'elicit', arguments: {} });
  await waitFor(() => a.asked.elicitation === 1, { what: "a's client to be asked" });
  const result = (await b.client.callTool({ name: 'ask', arguments: {} })) as CallToolResult;
  expect(result.isError).toBe(true);
  expect(textOf(result)).toMatch(/cannot tell which client this sampling\/createMessage request is for \(2 client sessions have requests in flight\)/);
  expect(a.asked.sampling + b.asked.sampling).toBe(0);
  release();
  expect(JSON.parse(textOf(await elicit))).toEqual({ name: 'Ada' });
});

it('answers a call in flight at once with an error when the process dies, and serves the restarted process', async () => {
  const fqn = `default:mcp-server:${NAME}`;
  const first = cp.stdio.info(fqn)!.pid!;
  // Its client is asked and never answers: the call stays in flight at the process.
  const { client, asked } = await connect(ALL, () => new Promise<void>(() => undefined));
  const call = client.callTool({ name: 'elicit', arguments: {} }, undefined, { timeout: 10 * 60_000 }).catch((e: unknown) => e);
  await waitFor(() => asked.elicitation === 1, { what: 'the call to be in flight' });
  process.kill(first, 'SIGKILL');
  const failed = await call;
  expect(failed).toBeInstanceOf(Error);
  expect((failed as Error).message).toMatch(/retry the request/);
  const restarted = await waitFor(() => {
    const info = cp.stdio.info(fqn);
    return info?.state === 'ready' && info.pid !== first ? info : undefined;
  }, { what: 'a new process' });
  expect(restarted.pid).not.toBe(first);
  expect(textOf(await client.callTool({ name: 'slow', arguments: { ms: 1 } }))).toBe('slept');
});
