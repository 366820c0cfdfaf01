// A tiny real MCP server (the SDK's Server over Streamable HTTP, with sessions and JSON answers) on
// loopback, as a process of its own: the upstream of the proxy figure and of discoveries.
//   node bench/lib/upstream-mcp.js      prints "listening on http://127.0.0.1:<port>/mcp"
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { CallToolRequestSchema, ListToolsRequestSchema, isInitializeRequest } from '@modelcontextprotocol/sdk/types.js';

const TOOLS = [
  { name: 'echo', description: 'Answers its arguments.', inputSchema: { type: 'object', properties: { text: { type: 'string' } } } },
  { name: 'search', description: 'Searches nothing.', inputSchema: { type: 'object', properties: {} } },
  { name: 'delete_everything', description: 'Disabled by the manifests.', inputSchema: { type: 'object', properties: {} } },
  { name: 'large', description: 'Answers a text of `bytes` bytes (default 5 MB).', inputSchema: { type: 'object', properties: { bytes: { type: 'number' } } } },
];

/** The large tool's texts, made once per size. */
const texts = new Map();
function largeText(bytes) {
  if (!texts.has(bytes)) texts.set(bytes, 'x'.repeat(bytes));
  return texts.get(bytes);
}

function mcpServer() {
  const server = new Server({ name: 'bench-upstream', version: '1.0.0' }, { capabilities: { tools: {} } });
  server.setRequestHandler(ListToolsRequestSchema, () => ({ tools: TOOLS }));
  server.setRequestHandler(CallToolRequestSchema, (request) =>
    request.params.name === 'large'
      ? { content: [{ type: 'text', text: largeText(Number(request.params.arguments?.bytes ?? 5_000_000)) }] }
      : { content: [{ type: 'text', text: JSON.stringify(request.params.arguments ?? {}) }] },
  );
  return server;
}

const sessions = new Map();

async function readJson(req) {
  const chunks = [];
  for await (const c of req) chunks.push(c);
  const text = Buffer.concat(chunks).toString('utf8');
  return text ? JSON.parse(text) : undefined;
}

const http = createServer((req, res) => {
  (async () => {
    if (new URL(req.url ?? '/', 'http://x').pathname !== '/mcp') {
      res.writeHead(404).end();
      return;
    }
    const body = req.method === 'POST' ? await readJson(req) : undefined;
    const id = req.headers['mcp-session-id'];
    const existing = typeof id === 'string' ? sessions.get(id) : undefined;
    if (existing) return existing.handleRequest(req, res, body);
    if (id) {
      res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ jsonrpc: '2.0', error: { code: -32001, message: 'Session not found' }, id: null }));
      return;
    }
    if (req.method !== 'POST' || !isInitializeRequest(body)) {
      res.writeHead(400, { 'content-type': 'application/json' }).end(JSON.stringify({ jsonrpc: '2.0', error: { code: -32000, message: 'no session' }, id: null }));
      return;
    }
    const transport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      enableJsonResponse: true,
      onsessioninitialized: (sid) => sessions.set(sid, transport),
      onsessionclosed: (sid) => sessions.delete(sid),
    });
    transport.onclose = () => {
      if (transport.sessionId) sessions.delete(transport.sessionId);
    };
    await mcpServer().connect(transport);
    await transport.handleRequest(req, res, body);
  })().catch((err) => {
    if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
    res.end(String(err?.message ?? err));
  });
});
http.keepAliveTimeout = 60_000;
http.listen(0, '127.0.0.1', () => {
  process.stdout.write(`listening on http://127.0.0.1:${http.address().port}/mcp\n`);
});
process.once('SIGTERM', () => {
  for (const t of sessions.values()) void t.close();
  http.close();
  http.closeAllConnections();
});
