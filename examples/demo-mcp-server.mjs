#!/usr/bin/env node
// A tiny MCP server (Streamable HTTP, stateless) to try the control plane with:
//   node examples/demo-mcp-server.mjs            # serves http://127.0.0.1:3001/mcp
//   PORT=3005 node examples/demo-mcp-server.mjs
// manifests/example.yaml points at it, so `npm start` shows it Ready with its tools discovered.
import { createServer } from 'node:http';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { z } from 'zod';

const port = Number(process.env.PORT ?? 3001);

function buildServer() {
  const server = new McpServer({ name: 'demo-mcp-server', version: '1.0.0' });
  server.registerTool(
    'echo',
    { description: 'Echo a message back', inputSchema: { message: z.string() }, annotations: { readOnlyHint: true } },
    async ({ message }) => ({ content: [{ type: 'text', text: message }] }),
  );
  server.registerTool(
    'add',
    { description: 'Add two numbers', inputSchema: { a: z.number(), b: z.number() }, annotations: { readOnlyHint: true } },
    async ({ a, b }) => ({ content: [{ type: 'text', text: String(a + b) }], structuredContent: { sum: a + b } }),
  );
  server.registerTool(
    'delete_everything',
    { description: 'A dangerous tool that example.yaml disables', annotations: { destructiveHint: true } },
    async () => ({ content: [{ type: 'text', text: 'this should never be reachable through the gateway' }] }),
  );
  return server;
}

createServer(async (req, res) => {
  if (!req.url?.startsWith('/mcp')) {
    res.writeHead(404).end();
    return;
  }
  if (req.method !== 'POST') {
    res.writeHead(405, { Allow: 'POST' }).end();
    return;
  }
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  let body;
  try {
    body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    res.writeHead(400).end();
    return;
  }
  const server = buildServer();
  const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
  res.on('close', () => {
    void transport.close();
    void server.close();
  });
  await server.connect(transport);
  await transport.handleRequest(req, res, body);
}).listen(port, '127.0.0.1', () => {
  process.stderr.write(`demo MCP server on http://127.0.0.1:${port}/mcp\n`);
});
