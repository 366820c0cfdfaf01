// A Streamable HTTP upstream without the SDK, for the large-message tests: plain node http on
// 127.0.0.1:0 that answers initialize, ping and tools/list as JSON, and tools/call of "big" as an event
// stream whose one event carries `bytes` of text, written in 16 KiB chunks (as TLS delivers them), half
// of it at once and the rest after release().
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ChunkyUpstream {
  url: string;
  /** Calls of "big" that wrote their first half and wait for release(). */
  readonly halfway: number;
  release(): void;
  close(): Promise<void>;
}

const CHUNK = 16 * 1024;

export async function startChunkyUpstream(bytes: number): Promise<ChunkyUpstream> {
  let halfway = 0;
  let releases: (() => void)[] = [];
  let released = false;
  const json = (res: ServerResponse, body: unknown, sessionId?: string) => {
    res.writeHead(200, { 'content-type': 'application/json', ...(sessionId ? { 'mcp-session-id': sessionId } : {}) });
    res.end(JSON.stringify(body));
  };
  const write = (res: ServerResponse, text: string) => (res.write(text) ? Promise.resolve() : new Promise<void>((resolve) => res.once('drain', () => resolve())));
  const big = async (res: ServerResponse, id: unknown) => {
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    await write(res, `event: message\ndata: {"jsonrpc":"2.0","id":${JSON.stringify(id)},"result":{"content":[{"type":"text","text":"`);
    const chunk = 'a'.repeat(CHUNK);
    let sent = 0;
    for (; sent < bytes / 2; sent += CHUNK) await write(res, chunk);
    halfway++;
    if (!released) await new Promise<void>((resolve) => releases.push(resolve));
    for (; sent + CHUNK <= bytes; sent += CHUNK) await write(res, chunk);
    await write(res, 'a'.repeat(bytes - sent));
    res.end('"}]}}\n\n');
  };
  const http = createServer((req: IncomingMessage, res: ServerResponse) => {
    if (req.method === 'GET') return void res.writeHead(405).end();
    if (req.method === 'DELETE') return void res.writeHead(200).end();
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const message = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { id?: unknown; method?: string; params?: { name?: string; protocolVersion?: string } };
      if (message.id === undefined) return void res.writeHead(202).end();
      if (message.method === 'initialize') {
        const result = { protocolVersion: message.params?.protocolVersion, capabilities: { tools: {} }, serverInfo: { name: 'chunky', version: '1.0.0' } };
        return json(res, { jsonrpc: '2.0', id: message.id, result }, 'chunky-session');
      }
      if (message.method === 'ping') return json(res, { jsonrpc: '2.0', id: message.id, result: {} });
      if (message.method === 'tools/list') return json(res, { jsonrpc: '2.0', id: message.id, result: { tools: [{ name: 'big', inputSchema: { type: 'object' } }] } });
      if (message.method === 'tools/call' && message.params?.name === 'big') return void big(res, message.id).catch(() => res.destroy());
      json(res, { jsonrpc: '2.0', id: message.id, error: { code: -32601, message: 'Method not found' } });
    });
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(http.address() as AddressInfo).port}/mcp`,
    get halfway() {
      return halfway;
    },
    release() {
      released = true;
      for (const r of releases) r();
      releases = [];
    },
    async close() {
      const closed = new Promise<void>((resolve) => http.close(() => resolve()));
      http.closeAllConnections();
      await closed;
    },
  };
}
