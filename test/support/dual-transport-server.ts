// An MCP server that speaks both transports at one URL, as the spec's backwards-compatibility section
// describes: a POST is Streamable HTTP (stateless, JSON answers); a GET opens an HTTP+SSE stream whose
// endpoint is the same path with ?sessionId=, and POSTs carrying that sessionId go to that stream.
// On 127.0.0.1, an ephemeral port; close() ends every stream.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { SSEServerTransport } from '@modelcontextprotocol/sdk/server/sse.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';

export interface DualTransportServer {
  url: string;
  close(): Promise<void>;
}

function newServer(): McpServer {
  const server = new McpServer({ name: 'dual-transport', version: '1.0.0' });
  server.registerTool('ping', { description: 'Answers pong.' }, () => ({ content: [{ type: 'text', text: 'pong' }] }));
  return server;
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  return text ? JSON.parse(text) : undefined;
}

export async function startDualTransportServer(): Promise<DualTransportServer> {
  const path = '/mcp';
  const streams = new Map<string, SSEServerTransport>();
  const open = new Set<{ close(): Promise<void> }>();
  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname !== path) return void res.writeHead(404).end();
    if (req.method === 'GET') {
      const transport = new SSEServerTransport(path, res);
      streams.set(transport.sessionId, transport);
      const server = newServer();
      open.add(server);
      res.on('close', () => {
        streams.delete(transport.sessionId);
        void server.close();
      });
      await server.connect(transport);
      return;
    }
    if (req.method !== 'POST') return void res.writeHead(405, { allow: 'GET, POST' }).end();
    const body = await readJson(req);
    const sessionId = url.searchParams.get('sessionId');
    if (sessionId !== null) {
      const stream = streams.get(sessionId);
      if (!stream) return void res.writeHead(404).end();
      await stream.handlePostMessage(req, res, body);
      return;
    }
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
    const server = newServer();
    res.on('close', () => {
      void transport.close();
      void server.close();
    });
    await server.connect(transport);
    await transport.handleRequest(req, res, body);
  };
  const http = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) res.writeHead(500);
      res.end(String(err));
    });
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const { port } = http.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}${path}`,
    async close() {
      await Promise.all([...open].map((s) => s.close().catch(() => undefined)));
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
}
