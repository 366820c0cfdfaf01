// An upstream with more than tools, for the relay tests: resources, prompts with completion, logging,
// a tool that reports progress and one that waits until it is cancelled. Stateful Streamable HTTP on
// 127.0.0.1, port 0; records the JSON-RPC methods it was sent and the requests it saw cancelled.
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import {
  CallToolRequestSchema,
  CompleteRequestSchema,
  GetPromptRequestSchema,
  isInitializeRequest,
  ListPromptsRequestSchema,
  ListResourcesRequestSchema,
  ListToolsRequestSchema,
  ReadResourceRequestSchema,
} from '@modelcontextprotocol/sdk/types.js';

export interface RichUpstream {
  url: string;
  /** JSON-RPC methods received, in order (requests and notifications). */
  methods: string[];
  /** Calls of the `wait` tool now running. */
  waiting: number;
  /** Calls of the `wait` tool that were cancelled (the upstream saw notifications/cancelled). */
  cancelled: number;
  /** Calls of the `gate` tool now running: each answers "opened" once openGates() is called. */
  gated: number;
  /** Answers every running `gate` call. */
  openGates(): void;
  /** Sends a progress notification for every running `gate` call that asked for progress. */
  gateProgress(): void;
  close(): Promise<void>;
}

interface Gates {
  open: (() => void)[];
  ticks: Set<() => void>;
}

function buildServer(state: RichUpstream, { open: gates, ticks }: Gates): Server {
  const server = new Server(
    { name: 'rich-upstream', version: '2.0.0' },
    { capabilities: { tools: {}, resources: {}, prompts: {}, completions: {}, logging: {} }, instructions: 'Use memo://one.' },
  );
  server.setRequestHandler(ListToolsRequestSchema, () => ({
    tools: ['progress', 'wait', 'log', 'gate'].map((name) => ({ name, inputSchema: { type: 'object' as const, properties: {} } })),
  }));
  server.setRequestHandler(CallToolRequestSchema, async (request, extra) => {
    const name = request.params.name;
    if (name === 'progress') {
      const progressToken = request.params._meta?.progressToken;
      for (let progress = 1; progress <= 3 && progressToken !== undefined; progress++) {
        await extra.sendNotification({ method: 'notifications/progress', params: { progressToken, progress, total: 3 } });
      }
      return { content: [{ type: 'text', text: 'done' }] };
    }
    if (name === 'log') {
      await extra.sendNotification({ method: 'notifications/message', params: { level: 'warning', data: 'from upstream' } });
      return { content: [{ type: 'text', text: 'logged' }] };
    }
    if (name === 'gate') {
      const progressToken = request.params._meta?.progressToken;
      let progress = 0;
      const tick = () => void (progressToken !== undefined && extra.sendNotification({ method: 'notifications/progress', params: { progressToken, progress: ++progress } }));
      state.gated++;
      ticks.add(tick);
      await new Promise<void>((resolve) => gates.push(resolve));
      ticks.delete(tick);
      state.gated--;
      return { content: [{ type: 'text', text: 'opened' }] };
    }
    state.waiting++;
    await new Promise<void>((resolve) => extra.signal.addEventListener('abort', () => resolve(), { once: true }));
    state.waiting--;
    state.cancelled++;
    return { content: [] };
  });
  server.setRequestHandler(ListResourcesRequestSchema, () => ({ resources: [{ uri: 'memo://one', name: 'one', mimeType: 'text/plain' }] }));
  server.setRequestHandler(ReadResourceRequestSchema, (request) => ({
    contents: [{ uri: request.params.uri, mimeType: 'text/plain', text: `contents of ${request.params.uri}` }],
  }));
  server.setRequestHandler(ListPromptsRequestSchema, () => ({ prompts: [{ name: 'greet', arguments: [{ name: 'who', required: true }] }] }));
  server.setRequestHandler(GetPromptRequestSchema, (request) => ({
    messages: [{ role: 'user', content: { type: 'text', text: `Hello, ${request.params.arguments?.who ?? 'nobody'}` } }],
  }));
  server.setRequestHandler(CompleteRequestSchema, (request) => ({
    completion: { values: ['alice', 'albert', 'bob'].filter((v) => v.startsWith(request.params.argument.value)), hasMore: false },
  }));
  return server;
}

export async function startRichUpstream(): Promise<RichUpstream> {
  const sessions = new Map<string, StreamableHTTPServerTransport>();
  const closeables: { close(): Promise<void> }[] = [];
  const gates: Gates = { open: [], ticks: new Set() };
  const state: RichUpstream = {
    url: '',
    methods: [],
    waiting: 0,
    cancelled: 0,
    gated: 0,
    openGates: () => {
      for (const open of gates.open.splice(0)) open();
    },
    gateProgress: () => {
      for (const tick of gates.ticks) tick();
    },
    close: async () => undefined,
  };

  const http = createServer((req, res) => {
    void (async () => {
      const body = req.method === 'POST' ? await readJson(req) : undefined;
      const method = (body as { method?: unknown } | undefined)?.method;
      if (typeof method === 'string') state.methods.push(method);
      const sessionId = req.headers['mcp-session-id'];
      const existing = typeof sessionId === 'string' ? sessions.get(sessionId) : undefined;
      if (existing) return existing.handleRequest(req, res, body);
      if (sessionId !== undefined || !isInitializeRequest(body)) {
        res.writeHead(404, { 'content-type': 'application/json' }).end('{"jsonrpc":"2.0","error":{"code":-32001,"message":"Session not found"},"id":null}');
        return;
      }
      const transport: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
        sessionIdGenerator: () => randomUUID(),
        onsessioninitialized: (id) => void sessions.set(id, transport),
        onsessionclosed: (id) => void sessions.delete(id),
      });
      const server = buildServer(state, gates);
      closeables.push(transport, server);
      await server.connect(transport);
      await transport.handleRequest(req, res, body);
    })().catch(() => res.destroy());
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  state.url = `http://127.0.0.1:${(http.address() as AddressInfo).port}/mcp`;
  state.close = async () => {
    await Promise.all(closeables.map((c) => c.close().catch(() => undefined)));
    const closed = new Promise<void>((resolve) => http.close(() => resolve()));
    http.closeAllConnections();
    await closed;
  };
  return state;
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    return undefined;
  }
}
