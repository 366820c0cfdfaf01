// Real upstream servers for tests, on 127.0.0.1 with an ephemeral port, inside the test process:
//   startMcpServer       an MCP server built with @modelcontextprotocol/sdk (Streamable HTTP or HTTP+SSE),
//                        optionally behind TLS and a required header, slow, hanging, or paging tools/list;
//   startOAuthTokenServer an OAuth 2.0 token endpoint for the client credentials grant.
// Every server records the requests it saw and closes all of its sockets and timers in close().
import { randomUUID } from 'node:crypto';
import { createServer as createHttpServer, type IncomingMessage, type Server as HttpServer, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { SSEServerTransport } from '@modelcontextprotocol/sdk/server/sse.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import {
  CallToolRequestSchema,
  ErrorCode,
  isInitializeRequest,
  ListToolsRequestSchema,
  McpError,
  type Tool,
} from '@modelcontextprotocol/sdk/types.js';

export type McpTransportKind = 'streamable-http' | 'sse';

export interface ToolDef {
  name: string;
  title?: string;
  description?: string;
  /** Default: an object schema without properties. */
  inputSchema?: Record<string, unknown>;
  outputSchema?: Record<string, unknown>;
  annotations?: Record<string, unknown>;
}

/** A header every request must carry; otherwise 401 with a WWW-Authenticate challenge. */
export type HeaderRequirement = { name: string; wwwAuthenticate?: string } & (
  | { value: string }
  | { accept: (value: string | undefined) => boolean }
);

export interface StartMcpServerOptions {
  transport: McpTransportKind;
  /** A count (tools named tool-0001, tool-0002, …) or the tools themselves. Default 3. */
  tools?: number | ToolDef[];
  /** tools/list page size; the cursor is the next offset. Default: one page. */
  pageSize?: number;
  requireHeader?: HeaderRequirement;
  /** Serve HTTPS with this certificate. */
  tls?: { cert: string; key: string };
  /** Wait this long before handling each HTTP request. */
  delayMs?: number;
  /**
   * Never answer (until close()): every request, or the POSTs of these JSON-RPC methods. A request is
   * recorded before it is held, so a test can wait until the server holds one. For timeout tests with
   * an injected clock: the budget runs out when the test says, never because the server was slow.
   */
  hang?: true | readonly string[];
  /** Streamable HTTP only: keep sessions (mcp-session-id, GET stream, DELETE, SSE responses). Default false. */
  stateful?: boolean;
  /** Default 0 (ephemeral). Pass a closed server's port to restart it at the same URL. */
  port?: number;
  /** Default '/mcp' for Streamable HTTP, '/sse' for HTTP+SSE (messages are posted to '/messages'). */
  path?: string;
  serverInfo?: { name: string; version: string };
  instructions?: string;
}

export interface RecordedRequest {
  method: string;
  /** Path and query. */
  url: string;
  /** Lower-cased names, as node:http gives them. */
  headers: Record<string, string | string[] | undefined>;
  /** The JSON-RPC method of a POST body, when it was a single request or notification. */
  rpcMethod?: string;
}

export interface RunningMcpServer {
  /** The MCP endpoint: what a manifest's url would be. */
  url: string;
  origin: string;
  port: number;
  requests: RecordedRequest[];
  /** Replaces the tools the server lists from now on (a count or the tools themselves). */
  setTools(tools: number | ToolDef[]): void;
  close(): Promise<void>;
}

/** The tools a count stands for: tool-0001 … tool-NNNN, each with a description. */
export function numberedTools(count: number): ToolDef[] {
  return Array.from({ length: count }, (_, i) => {
    const name = `tool-${String(i + 1).padStart(4, '0')}`;
    return { name, description: `Test tool ${name}.` };
  });
}

export async function startMcpServer(opts: StartMcpServerOptions): Promise<RunningMcpServer> {
  const toolsOf = (t: number | ToolDef[] | undefined) => (typeof t === 'number' ? numberedTools(t) : (t ?? numberedTools(3)));
  let tools = toolsOf(opts.tools);
  const path = opts.path ?? (opts.transport === 'sse' ? '/sse' : '/mcp');
  const messagesPath = '/messages';
  const requests: RecordedRequest[] = [];
  const closeables = new Set<{ close(): Promise<void> }>();
  const delays = new Delays();
  const streamableSessions = new Map<string, StreamableHTTPServerTransport>();
  const sseSessions = new Map<string, SSEServerTransport>();

  const newMcpServer = (): Server => buildMcpServer(() => tools, opts);
  const connect = async (server: Server, transport: StreamableHTTPServerTransport | SSEServerTransport) => {
    closeables.add(server);
    closeables.add(transport);
    await server.connect(transport);
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const body = req.method === 'POST' ? await readJson(req) : undefined;
    const recorded: RecordedRequest = { method: req.method ?? '', url: req.url ?? '', headers: { ...req.headers } };
    const rpcMethod = (body as { method?: unknown } | undefined)?.method;
    if (typeof rpcMethod === 'string') recorded.rpcMethod = rpcMethod;
    requests.push(recorded);

    if (opts.requireHeader && !headerAccepted(opts.requireHeader, req)) {
      res.writeHead(401, {
        'content-type': 'application/json',
        'www-authenticate': opts.requireHeader.wwwAuthenticate ?? 'Bearer realm="test-mcp", error="invalid_token"',
      });
      res.end(JSON.stringify({ error: 'unauthorized' }));
      return;
    }
    if (opts.hang === true || (opts.hang && recorded.rpcMethod !== undefined && opts.hang.includes(recorded.rpcMethod))) {
      await delays.hold();
      return void res.destroy();
    }
    if (opts.delayMs) {
      await delays.wait(opts.delayMs);
      if (delays.closed) return void res.destroy();
    }
    const pathname = new URL(req.url ?? '/', 'http://x').pathname;

    if (opts.transport === 'streamable-http') {
      if (pathname !== path) return void notFound(res);
      if (!opts.stateful) {
        if (req.method !== 'POST') return void methodNotAllowed(res, 'POST');
        const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
        const server = newMcpServer();
        res.on('close', () => {
          void transport.close();
          void server.close();
        });
        await connect(server, transport);
        await transport.handleRequest(req, res, body);
        return;
      }
      const sessionId = header(req, 'mcp-session-id');
      const existing = sessionId ? streamableSessions.get(sessionId) : undefined;
      if (existing) return void (await existing.handleRequest(req, res, body));
      if (sessionId) return void jsonRpcError(res, 404, 'Session not found');
      if (req.method !== 'POST' || !isInitializeRequest(body)) return void jsonRpcError(res, 400, 'Bad Request: no valid session ID');
      const transport: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
        sessionIdGenerator: () => randomUUID(),
        onsessioninitialized: (id) => void streamableSessions.set(id, transport),
        onsessionclosed: (id) => void streamableSessions.delete(id),
      });
      await connect(newMcpServer(), transport);
      await transport.handleRequest(req, res, body);
      return;
    }

    // HTTP+SSE (protocol 2024-11-05): GET opens the stream, POSTs go to the endpoint it announced.
    if (pathname === path && req.method === 'GET') {
      const transport = new SSEServerTransport(messagesPath, res);
      sseSessions.set(transport.sessionId, transport);
      res.on('close', () => {
        sseSessions.delete(transport.sessionId);
        void transport.close();
      });
      await connect(newMcpServer(), transport);
      return;
    }
    if (pathname === path) return void methodNotAllowed(res, 'GET'); // an old server answering a Streamable HTTP POST
    if (pathname === messagesPath && req.method === 'POST') {
      const transport = sseSessions.get(new URL(req.url ?? '/', 'http://x').searchParams.get('sessionId') ?? '');
      if (!transport) return void notFound(res);
      await transport.handlePostMessage(req, res, body);
      return;
    }
    notFound(res);
  };

  const http = listenable(opts.tls, (req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(error instanceof Error ? error.message : String(error));
    });
  });
  const port = await listen(http, opts.port ?? 0);
  const origin = `${opts.tls ? 'https' : 'http'}://127.0.0.1:${port}`;
  return {
    url: `${origin}${path}`,
    origin,
    port,
    requests,
    setTools: (next) => {
      tools = toolsOf(next);
    },
    close: async () => {
      delays.close();
      await Promise.all([...closeables].map((c) => c.close().catch(() => undefined)));
      await shutdown(http);
    },
  };
}

function buildMcpServer(currentTools: () => ToolDef[], opts: StartMcpServerOptions): Server {
  const server = new Server(opts.serverInfo ?? { name: 'test-mcp-server', version: '1.0.0' }, {
    capabilities: { tools: { listChanged: false } },
    ...(opts.instructions ? { instructions: opts.instructions } : {}),
  });
  server.setRequestHandler(ListToolsRequestSchema, (request) => {
    const tools = currentTools();
    const cursor = request.params?.cursor;
    const start = cursor === undefined ? 0 : Number(cursor);
    if (!Number.isInteger(start) || start < 0 || start > tools.length) {
      throw new McpError(ErrorCode.InvalidParams, `Invalid cursor: ${cursor}`);
    }
    const end = opts.pageSize ? Math.min(start + opts.pageSize, tools.length) : tools.length;
    return {
      tools: tools.slice(start, end).map(toSdkTool),
      ...(end < tools.length ? { nextCursor: String(end) } : {}),
    };
  });
  // Echoes the call, so gateway tests can see what reached the upstream; a tool with an outputSchema
  // answers the echo as structuredContent too.
  server.setRequestHandler(CallToolRequestSchema, (request) => {
    const tool = currentTools().find((t) => t.name === request.params.name);
    if (!tool) {
      throw new McpError(ErrorCode.InvalidParams, `Unknown tool: ${request.params.name}`);
    }
    const echo = { tool: request.params.name, arguments: request.params.arguments ?? {} };
    return { content: [{ type: 'text', text: JSON.stringify(echo) }], ...(tool.outputSchema ? { structuredContent: echo } : {}) };
  });
  return server;
}

function toSdkTool(def: ToolDef): Tool {
  return {
    name: def.name,
    ...(def.title !== undefined ? { title: def.title } : {}),
    ...(def.description !== undefined ? { description: def.description } : {}),
    inputSchema: (def.inputSchema ?? { type: 'object', properties: {} }) as Tool['inputSchema'],
    ...(def.outputSchema !== undefined ? { outputSchema: def.outputSchema as Tool['outputSchema'] } : {}),
    ...(def.annotations !== undefined ? { annotations: def.annotations } : {}),
  };
}

// ---------------------------------------------------------------------------------------------------
// OAuth 2.0 token endpoint (client credentials grant).

export type ClientAuthMethod = 'client_secret_basic' | 'client_secret_post';

export interface StartOAuthTokenServerOptions {
  clientId: string;
  clientSecret: string;
  /** expires_in of issued tokens, in seconds; omitted from the answer when null. Default 3600. */
  expiresIn?: number | null;
  /** Client authentication methods accepted. Default both. */
  authMethods?: ClientAuthMethod[];
  /** A careless endpoint that echoes the presented secret in error_description (to test redaction). */
  echoSecretInErrors?: boolean;
  tls?: { cert: string; key: string };
}

export interface TokenRequestRecord {
  authMethod: ClientAuthMethod | 'none';
  grantType?: string;
  scope?: string;
  status: number;
}

export interface RunningOAuthTokenServer {
  tokenUrl: string;
  requests: TokenRequestRecord[];
  /** Access tokens issued, oldest first. */
  issued: string[];
  /** Whether `authorization` is "Bearer <a token this endpoint issued>"; for requireHeader.accept. */
  acceptsBearer(authorization: string | undefined): boolean;
  close(): Promise<void>;
}

export async function startOAuthTokenServer(opts: StartOAuthTokenServerOptions): Promise<RunningOAuthTokenServer> {
  const requests: TokenRequestRecord[] = [];
  const issued: string[] = [];
  const methods = opts.authMethods ?? ['client_secret_basic', 'client_secret_post'];
  const expiresIn = opts.expiresIn === undefined ? 3600 : opts.expiresIn;

  const http = listenable(opts.tls, (req, res) => {
    readText(req)
      .then((text) => {
        const form = new URLSearchParams(text);
        let authMethod: TokenRequestRecord['authMethod'] = 'none';
        let id: string | undefined;
        let secret: string | undefined;
        const basic = /^Basic (.+)$/i.exec(header(req, 'authorization') ?? '');
        if (basic?.[1]) {
          authMethod = 'client_secret_basic';
          const decoded = Buffer.from(basic[1], 'base64').toString('utf8');
          const colon = decoded.indexOf(':');
          const formDecode = (s: string) => decodeURIComponent(s.replace(/\+/g, ' '));
          id = formDecode(decoded.slice(0, colon));
          secret = formDecode(decoded.slice(colon + 1));
        } else if (form.has('client_secret')) {
          authMethod = 'client_secret_post';
          id = form.get('client_id') ?? undefined;
          secret = form.get('client_secret') ?? undefined;
        }
        const grantType = form.get('grant_type') ?? undefined;
        const scope = form.get('scope') ?? undefined;
        const answer = (status: number, body: Record<string, unknown>) => {
          requests.push({ authMethod, ...(grantType ? { grantType } : {}), ...(scope ? { scope } : {}), status });
          res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
          res.end(JSON.stringify(body));
        };
        if (req.method !== 'POST') return answer(405, { error: 'invalid_request' });
        if (authMethod === 'none' || !methods.includes(authMethod) || id !== opts.clientId || secret !== opts.clientSecret) {
          const echo = opts.echoSecretInErrors ? ` (got secret ${secret ?? ''})` : '';
          return answer(401, { error: 'invalid_client', error_description: `Client authentication failed${echo}` });
        }
        if (grantType !== 'client_credentials') return answer(400, { error: 'unsupported_grant_type' });
        const token = `at-${issued.length + 1}-${randomUUID()}`;
        issued.push(token);
        answer(200, { access_token: token, token_type: 'Bearer', ...(expiresIn !== null ? { expires_in: expiresIn } : {}) });
      })
      .catch(() => res.destroy());
  });
  const port = await listen(http, 0);
  return {
    tokenUrl: `${opts.tls ? 'https' : 'http'}://127.0.0.1:${port}/oauth/token`,
    requests,
    issued,
    acceptsBearer: (authorization) => {
      const m = /^Bearer (.+)$/.exec(authorization ?? '');
      return !!m?.[1] && issued.includes(m[1]);
    },
    close: () => shutdown(http),
  };
}

// ---------------------------------------------------------------------------------------------------
// Plumbing shared by both servers.

function listenable(
  tls: { cert: string; key: string } | undefined,
  listener: (req: IncomingMessage, res: ServerResponse) => void,
): HttpServer {
  return tls ? createHttpsServer({ cert: tls.cert, key: tls.key }, listener) : createHttpServer(listener);
}

function listen(http: HttpServer, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    http.once('error', reject);
    http.listen(port, '127.0.0.1', () => {
      http.off('error', reject);
      resolve((http.address() as AddressInfo).port);
    });
  });
}

async function shutdown(http: HttpServer): Promise<void> {
  const closed = new Promise<void>((resolve) => http.close(() => resolve()));
  http.closeAllConnections();
  await closed;
}

/** Waits that close() ends, so a slow or hanging server never keeps the test process alive. */
class Delays {
  closed = false;
  private readonly pending = new Map<() => void, NodeJS.Timeout | undefined>();

  wait(ms: number): Promise<void> {
    return this.until(ms);
  }

  /** Resolves only in close(). */
  hold(): Promise<void> {
    return this.until(undefined);
  }

  close(): void {
    this.closed = true;
    for (const [resolve, timer] of this.pending) {
      if (timer) clearTimeout(timer);
      resolve();
    }
    this.pending.clear();
  }

  private until(ms: number | undefined): Promise<void> {
    if (this.closed) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        this.pending.delete(done);
        resolve();
      };
      this.pending.set(done, ms === undefined ? undefined : setTimeout(done, ms));
    });
  }
}

function headerAccepted(requirement: HeaderRequirement, req: IncomingMessage): boolean {
  const actual = header(req, requirement.name);
  return 'accept' in requirement ? requirement.accept(actual) : actual === requirement.value;
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name.toLowerCase()];
  return Array.isArray(value) ? value[0] : value;
}

async function readText(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const text = await readText(req);
  try {
    return text ? JSON.parse(text) : undefined;
  } catch {
    return undefined;
  }
}

function notFound(res: ServerResponse): void {
  res.writeHead(404, { 'content-type': 'text/plain' });
  res.end('Not Found');
}

function methodNotAllowed(res: ServerResponse, allow: string): void {
  res.writeHead(405, { 'content-type': 'text/plain', allow });
  res.end('Method Not Allowed');
}

function jsonRpcError(res: ServerResponse, status: number, message: string): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ jsonrpc: '2.0', error: { code: -32000, message }, id: null }));
}
