// Shared by the large-answer tests: a Streamable HTTP upstream without the SDK (plain node http on
// 127.0.0.1:0, so each test writes the exact bytes, headers and pace of an answer it means), and a data
// plane in front of it over a gateway store in a temp dir, with a raw HTTP session through it.
//
// The upstream answers initialize, ping and tools/list as JSON, and tools/call by the tool's name with the
// test's own writer; it counts answers it could not finish because the gateway hung up (cutOff).
import express from 'express';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StaticTokenAuthenticator } from '../../src/auth/authenticator.js';
import { RoleAccessPolicy } from '../../src/auth/policy.js';
import type { Clock } from '../../src/domain/clock.js';
import { silentLogger } from '../../src/domain/logger.js';
import { adminPrincipal } from '../../src/domain/principal.js';
import { DataPlane } from '../../src/gateway/data-plane/index.js';
import type { GatewayEntry } from '../../src/gateway/gateway-entry.js';
import { SqliteGatewayStore } from '../../src/store/sqlite/index.js';

/** Answers a tools/call of one tool: writes `res` as it means to (headers, bytes, pace). */
export type ToolAnswer = (res: ServerResponse, id: string | number) => void;

export interface AnswerUpstream {
  url: string;
  /** Answers the gateway hung up on before they were written in full. */
  readonly cutOff: number;
  close(): Promise<void>;
}

/** Writes `value` as a JSON answer (with the upstream's session id). */
export function json(res: ServerResponse, value: unknown): void {
  res.writeHead(200, { 'content-type': 'application/json', 'mcp-session-id': 'answer-upstream-session' });
  res.end(JSON.stringify(value));
}

/** `tools`: each tool's answer; `toolList`: what tools/list answers (default: the tools, named). */
export async function startAnswerUpstream(tools: Record<string, ToolAnswer>, toolList?: object[]): Promise<AnswerUpstream> {
  let cutOff = 0;
  const listed = toolList ?? Object.keys(tools).map((name) => ({ name, inputSchema: { type: 'object' } }));
  const http = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.method === 'DELETE') return void res.writeHead(200).end();
      if (req.method !== 'POST') return void res.writeHead(405).end();
      const m = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { id?: string | number; method: string; params?: { name?: string; protocolVersion?: string } };
      if (m.id === undefined) return void res.writeHead(202).end();
      res.once('close', () => {
        if (!res.writableFinished) cutOff++;
      });
      if (m.method === 'initialize') {
        return json(res, { jsonrpc: '2.0', id: m.id, result: { protocolVersion: m.params?.protocolVersion, capabilities: { tools: {} }, serverInfo: { name: 'answers', version: '1' } } });
      }
      if (m.method === 'ping') return json(res, { jsonrpc: '2.0', id: m.id, result: {} });
      if (m.method === 'tools/list') return json(res, { jsonrpc: '2.0', id: m.id, result: { tools: listed } });
      const tool = m.method === 'tools/call' ? tools[m.params?.name ?? ''] : undefined;
      if (tool) return tool(res, m.id);
      json(res, { jsonrpc: '2.0', id: m.id, error: { code: -32601, message: 'Method not found' } });
    });
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(http.address() as AddressInfo).port}/mcp`,
    get cutOff() {
      return cutOff;
    },
    close: () => closeServer(http),
  };
}

/** Writes `bytes` in pieces of `chunk` bytes, each after the last was taken (no Content-Length: chunked). */
export async function writeInChunks(res: ServerResponse, bytes: Buffer, chunk: number): Promise<void> {
  for (let at = 0; at < bytes.length && !res.destroyed; at += chunk) {
    if (!res.write(bytes.subarray(at, at + chunk))) await new Promise<void>((resolve) => res.once('drain', resolve).once('close', resolve));
  }
}

export interface AnswerGateway {
  /** <gateway>/mcp/<name> */
  base: string;
  token: string;
  dataPlane: DataPlane;
  close(): Promise<void>;
}

export interface AnswerGatewayOptions {
  name: string;
  upstreamUrl: string;
  token: string;
  disabledTools?: string[];
  /** --upstream-max-message-bytes (and the response cap) */
  maxMessageBytes?: number;
  clock?: Clock;
}

/** A data plane serving one Streamable HTTP entry, `name`, whose upstream is `upstreamUrl`. */
export async function startAnswerGateway(options: AnswerGatewayOptions): Promise<AnswerGateway> {
  const dir = mkdtempSync(join(tmpdir(), `mcp-cp-${options.name}-`));
  const store = new SqliteGatewayStore({ path: join(dir, 'gateway.db') });
  const entry: GatewayEntry = {
    fqn: `default:mcp-server:${options.name}`,
    tenant: 'default',
    name: options.name,
    resourceId: `id-${options.name}`,
    accountId: 'default',
    upstreamUrl: options.upstreamUrl,
    transport: 'streamable-http',
    headers: {},
    passthroughAuth: false,
    tls: { rejectUnauthorized: true },
    disabledTools: options.disabledTools ?? [],
    toolOverrides: {},
    collaborators: [],
    generation: 1,
  };
  await store.apply(entry);
  const dataPlane = new DataPlane({
    gateway: store,
    authenticator: new StaticTokenAuthenticator(options.token, adminPrincipal('default')),
    policy: new RoleAccessPolicy(),
    tenant: 'default',
    logger: silentLogger,
    ...(options.maxMessageBytes ? { upstreamLimits: { maxMessageBytes: options.maxMessageBytes, maxResponseBytes: options.maxMessageBytes } } : {}),
    ...(options.clock ? { clock: options.clock } : {}),
  });
  const app = express();
  app.use('/mcp', dataPlane.handler);
  const http = await new Promise<Server>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  return {
    base: `http://127.0.0.1:${(http.address() as AddressInfo).port}/mcp/${options.name}`,
    token: options.token,
    dataPlane,
    async close() {
      await dataPlane.close();
      await closeServer(http);
      store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Posts a message on a raw session; `headers` are the session's own (its id, protocol version, token). */
export type RawSession = ((message: object) => Promise<Response>) & { headers: Record<string, string> };

/** A session through the gateway over plain HTTP, so each answer's bytes can be read as they come. */
export async function rawSession(gateway: AnswerGateway, protocolVersion = '2025-06-18'): Promise<RawSession> {
  // Each request on a connection of its own: one reused after this process's event loop stalled past the
  // gateway's keep-alive timeout is closed by that timer with the request unread (a reset).
  const headers = { connection: 'close', authorization: `Bearer ${gateway.token}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
  const init = await fetch(gateway.base, {
    method: 'POST',
    headers,
    body: JSON.stringify({ jsonrpc: '2.0', id: 0, method: 'initialize', params: { protocolVersion, capabilities: {}, clientInfo: { name: 't', version: '1' } } }),
  });
  if (init.status !== 200) throw new Error(`initialize answered ${init.status}`);
  await init.text();
  const sessionHeaders = { ...headers, 'mcp-session-id': init.headers.get('mcp-session-id')!, 'mcp-protocol-version': protocolVersion };
  await (await fetch(gateway.base, { method: 'POST', headers: sessionHeaders, body: JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }) })).text();
  const send = (message: object) => fetch(gateway.base, { method: 'POST', headers: sessionHeaders, body: JSON.stringify({ jsonrpc: '2.0', ...message }) });
  return Object.assign(send, { headers: sessionHeaders });
}

async function closeServer(server: Server): Promise<void> {
  await new Promise<void>((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}
