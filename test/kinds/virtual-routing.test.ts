// A virtual server routes more than tools: resources and prompts go to the source that listed them, and a
// source's request to the client during a tool call (sampling) reaches the client and its answer comes
// back, under an id of the gateway's own. The sources are SDK servers written here (Streamable HTTP with
// sessions, so a tool call can ask the client), registered as remote servers; the client is the SDK's.
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import {
  CallToolRequestSchema,
  CreateMessageRequestSchema,
  CreateMessageResultSchema,
  GetPromptRequestSchema,
  ListPromptsRequestSchema,
  ListResourcesRequestSchema,
  ListToolsRequestSchema,
  ReadResourceRequestSchema,
} from '@modelcontextprotocol/sdk/types.js';
import { ADMIN_TOKEN, remoteManifest, startTestControlPlane, waitFor, type TestControlPlane } from '../support/control-plane.js';

const API = '/api/svc/v1/mcp-servers';
const everyone = [{ subject: 'team:everyone', role_id: 'mcp-server-user' }];

interface Source {
  url: string;
  close(): Promise<void>;
}

/** An SDK server with one tool (which asks the client to sample), one resource and one prompt, all named after `tag`. */
async function startSource(tag: string): Promise<Source> {
  const sessions = new Map<string, StreamableHTTPServerTransport>();
  const servers: Server[] = [];
  const build = (): Server => {
    const server = new Server({ name: `source-${tag}`, version: '1.0.0' }, { capabilities: { tools: {}, resources: {}, prompts: {} } });
    server.setRequestHandler(ListToolsRequestSchema, () => ({ tools: [{ name: `${tag}_ask`, inputSchema: { type: 'object', properties: {} } }] }));
    server.setRequestHandler(CallToolRequestSchema, async (_request, extra) => {
      const sampled = await extra.sendRequest(
        { method: 'sampling/createMessage', params: { messages: [{ role: 'user', content: { type: 'text', text: `question from ${tag}` } }], maxTokens: 10 } },
        CreateMessageResultSchema,
      );
      return { content: [{ type: 'text', text: `${tag} heard: ${(sampled.content as { text: string }).text}` }] };
    });
    server.setRequestHandler(ListResourcesRequestSchema, () => ({ resources: [{ uri: `memo://${tag}/note`, name: `${tag} note` }] }));
    server.setRequestHandler(ReadResourceRequestSchema, (request) => ({ contents: [{ uri: request.params.uri, text: `note of ${tag}` }] }));
    server.setRequestHandler(ListPromptsRequestSchema, () => ({ prompts: [{ name: `${tag}_prompt` }] }));
    server.setRequestHandler(GetPromptRequestSchema, (request) => ({
      messages: [{ role: 'user', content: { type: 'text', text: `prompt ${request.params.name} of ${tag}` } }],
    }));
    servers.push(server);
    return server;
  };
  const http: HttpServer = createServer((req, res) => {
    void (async () => {
      const body = req.method === 'POST' ? await readJson(req) : undefined;
      const id = req.headers['mcp-session-id'];
      const existing = typeof id === 'string' ? sessions.get(id) : undefined;
      if (existing) return existing.handleRequest(req, res, body);
      const transport: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
        sessionIdGenerator: () => randomUUID(),
        onsessioninitialized: (sid) => void sessions.set(sid, transport),
      });
      await build().connect(transport);
      await transport.handleRequest(req, res, body);
    })().catch(() => res.destroy());
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const { port } = http.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/mcp`,
    close: async () => {
      await Promise.all(servers.map((s) => s.close().catch(() => undefined)));
      http.closeAllConnections();
      await new Promise((resolve) => http.close(resolve));
    },
  };
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return JSON.parse(Buffer.concat(chunks).toString('utf8'));
}

let cp: TestControlPlane;
let alpha: Source;
let beta: Source;

async function ready(name: string) {
  await waitFor(
    async () => {
      const data = (await cp.api(`${API}/name/${name}`)).json?.data;
      const c = (data?.status?.conditions ?? []).find((x: { type: string }) => x.type === 'Ready');
      return c?.status === 'True' && c.observedGeneration === data.generation;
    },
    { what: `${name} Ready` },
  );
}

beforeAll(async () => {
  [alpha, beta] = await Promise.all([startSource('alpha'), startSource('beta')]);
  cp = await startTestControlPlane();
  for (const [name, source] of [['alpha', alpha], ['beta', beta]] as const) {
    expect((await cp.api(API, { method: 'PUT', body: { manifest: remoteManifest({ name, url: source.url, collaborators: everyone }) } })).status).toBe(200);
  }
  const virtual = { type: 'mcp-server/virtual', name: 'both', description: 'Alpha and beta', servers: [{ name: 'alpha' }, { name: 'beta' }], collaborators: everyone };
  expect((await cp.api(API, { method: 'PUT', body: { manifest: virtual } })).status).toBe(200);
  await ready('alpha');
  await ready('beta');
  await ready('both');
});

afterAll(async () => {
  await cp?.dispose();
  await Promise.all([alpha?.close(), beta?.close()]);
});

it('merges resources and prompts and routes reads, prompts and the sources\' requests to the client', async () => {
  const client = new Client({ name: 'routing-test', version: '1.0.0' }, { capabilities: { sampling: {} } });
  const asked: string[] = [];
  client.setRequestHandler(CreateMessageRequestSchema, (request) => {
    const text = (request.params.messages[0]!.content as { text: string }).text;
    asked.push(text);
    return { role: 'assistant', model: 'test', content: { type: 'text', text: `answer to ${text}` } };
  });
  await client.connect(new StreamableHTTPClientTransport(new URL(`${cp.url}/mcp/both`), { requestInit: { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } } }));
  try {
    expect(client.getServerCapabilities()).toMatchObject({ tools: { listChanged: true }, resources: {}, prompts: {} });
    const { resources } = await client.listResources();
    expect(resources.map((r) => r.uri).sort()).toEqual(['memo://alpha/note', 'memo://beta/note']);
    expect((await client.readResource({ uri: 'memo://beta/note' })).contents).toEqual([{ uri: 'memo://beta/note', text: 'note of beta' }]);
    expect((await client.listPrompts()).prompts.map((p) => p.name).sort()).toEqual(['alpha_prompt', 'beta_prompt']);
    const prompt = await client.getPrompt({ name: 'alpha_prompt' });
    expect((prompt.messages[0]!.content as { text: string }).text).toBe('prompt alpha_prompt of alpha');

    // Both sources ask the client at once; each gets its own answer back.
    const [a, b] = await Promise.all([client.callTool({ name: 'alpha_ask', arguments: {} }), client.callTool({ name: 'beta_ask', arguments: {} })]);
    expect((a.content as { text: string }[])[0]!.text).toBe('alpha heard: answer to question from alpha');
    expect((b.content as { text: string }[])[0]!.text).toBe('beta heard: answer to question from beta');
    expect(asked.sort()).toEqual(['question from alpha', 'question from beta']);
    await expect(client.ping()).resolves.toEqual({});
  } finally {
    await client.close();
  }
});
