// A fleet of real MCP upstreams on loopback: K processes (default 4), each serving every endpoint
// /s/<i>/mcp on one port over Streamable HTTP, built with the official SDK. Endpoint i lives in process
// i % K and lists three tools whose names and descriptions depend on i, so the tool lists the control
// plane stores differ from server to server. Stateless (no session kept per endpoint, so one process
// serves 50,000 endpoints): each POSTed request is handed to an SDK Server over a one-exchange transport.
//
//   node bench/lib/upstream-fleet.js     one process; prints "listening on http://127.0.0.1:<port>"
//   startUpstreamFleet({ processes })     K such processes, cleaned up with the rest of a bench;
//                                         urlOf(i), and the fleet's own CPU, RSS and requests served
//                                         (so a figure can show the fleet did not dominate)
//
// GET /_stats answers {"requests": n}: the MCP requests this process has served.
import { createServer } from 'node:http';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** The tools of endpoint i: three, named and described by i (the manifests disable delete_everything). */
export function toolsOf(i) {
  return [
    { name: 'search', description: `Searches the corpus of upstream ${i}.`, inputSchema: { type: 'object', properties: { query: { type: 'string' } } } },
    { name: `get_record_${i % 13}`, description: `Reads one record of shelf ${i % 13} on upstream ${i}.`, inputSchema: { type: 'object', properties: { id: { type: 'string' } }, required: ['id'] } },
    { name: 'delete_everything', description: `Deletes everything upstream ${i} holds.`, inputSchema: { type: 'object', properties: {} } },
  ];
}

/**
 * The HTTP side of one stateless exchange, as an SDK Transport: the POSTed message goes to the SDK
 * Server, its answer (for a request) becomes the JSON body, as Streamable HTTP allows (a JSON answer; 202
 * for a notification; 405 for the optional GET stream). The SDK's own StreamableHTTPServerTransport converts
 * each node request to a web Request and back: ≈3 ms of CPU per discovery here against ≈1 ms with this
 * one, and the control plane spends ≈3.5 ms on each; the fleet would weigh as much as what it measures.
 */
class ExchangeTransport {
  constructor(res) {
    this.res = res;
  }
  async start() {}
  async send(message) {
    const body = JSON.stringify(message);
    this.res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }).end(body);
  }
  async close() {
    this.onclose?.();
  }
}

async function serve() {
  const { Server } = await import('@modelcontextprotocol/sdk/server/index.js');
  const { CallToolRequestSchema, ListToolsRequestSchema, JSONRPCMessageSchema } = await import('@modelcontextprotocol/sdk/types.js');
  const PATH = /^\/s\/(\d{1,7})\/mcp$/;
  let requests = 0;

  // SDK Servers are reused (one per exchange in flight, ≈100 µs each to build): `endpoint` says whose
  // tools the exchange under way lists.
  const idle = [];
  const mcpServer = (i) => {
    let server = idle.pop();
    if (!server) {
      const s = new Server({ name: 'bench-fleet', version: '1.0.0' }, { capabilities: { tools: {} } });
      s.setRequestHandler(ListToolsRequestSchema, () => ({ tools: toolsOf(s.endpoint) }));
      s.setRequestHandler(CallToolRequestSchema, (request) => ({ content: [{ type: 'text', text: JSON.stringify({ upstream: s.endpoint, tool: request.params.name, arguments: request.params.arguments ?? {} }) }] }));
      server = s;
    }
    server.endpoint = i;
    return server;
  };
  const release = (server) => {
    server.close().then(() => idle.push(server), () => undefined);
  };

  const readJson = async (req) => {
    const chunks = [];
    for await (const c of req) chunks.push(c);
    const text = Buffer.concat(chunks).toString('utf8');
    return text ? JSON.parse(text) : undefined;
  };

  const answerError = (res, status, message) =>
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify({ jsonrpc: '2.0', error: { code: -32000, message }, id: null }));

  const http = createServer((req, res) => {
    (async () => {
      const path = new URL(req.url ?? '/', 'http://x').pathname;
      if (path === '/_stats') {
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ requests }));
        return;
      }
      const m = PATH.exec(path);
      if (!m) {
        res.writeHead(404).end();
        return;
      }
      requests++;
      // Stateless: no standalone event stream, no session to delete.
      if (req.method !== 'POST') return answerError(res, 405, 'Method not allowed.');
      const parsed = JSONRPCMessageSchema.safeParse(await readJson(req));
      if (!parsed.success) return answerError(res, 400, 'Expected one JSON-RPC message.');
      const message = parsed.data;
      if (!('id' in message) || !('method' in message)) {
        // A notification or a response: accepted; a stateless server has nothing to do with it.
        res.writeHead(202).end();
        return;
      }
      const server = mcpServer(Number(m[1]));
      const transport = new ExchangeTransport(res);
      await server.connect(transport);
      res.once('close', () => release(server));
      transport.onmessage?.(message);
    })().catch((err) => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(String(err?.message ?? err));
    });
  });
  http.keepAliveTimeout = 60_000;
  http.listen(0, '127.0.0.1', () => {
    process.stdout.write(`listening on http://127.0.0.1:${http.address().port}\n`);
  });
  process.once('SIGTERM', () => {
    http.close();
    http.closeAllConnections();
  });
}

/**
 * Starts K fleet processes. Answers { urlOf(i), cpuMs(), rssMb(), requests(), stop() }; cpuMs and rssMb
 * sum over the processes.
 */
export async function startUpstreamFleet({ processes = 4 } = {}) {
  // Imported here, not at the top: a fleet process must not install the bench's cleanup and signal handlers.
  const { spawnNode } = await import('./child.js');
  const { cpuMs, rssMb } = await import('./proc.js');
  const { request } = await import('undici');
  const script = fileURLToPath(import.meta.url);
  const children = await Promise.all(Array.from({ length: processes }, () => spawnNode(script)));
  const bases = await Promise.all(children.map((c) => c.url()));
  return {
    processes,
    bases,
    urlOf: (i) => `${bases[i % processes]}/s/${i}/mcp`,
    cpuMs: () => children.reduce((sum, c) => sum + cpuMs(c.pid), 0),
    rssMb: () => children.reduce((sum, c) => sum + rssMb(c.pid), 0),
    async requests() {
      let n = 0;
      for (const base of bases) n += (await (await request(`${base}/_stats`)).body.json()).requests;
      return n;
    },
    get alive() {
      return children.every((c) => !c.exited);
    },
    async stop() {
      await Promise.all(children.map((c) => c.stop()));
    },
  };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? join('/', 'none')).href) await serve();
