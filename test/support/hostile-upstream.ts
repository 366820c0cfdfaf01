// A hostile MCP upstream without the SDK: plain node http on 127.0.0.1:0 that answers initialize as a
// Streamable HTTP server would, then misbehaves according to the path. Big answers are generated as they
// are written (with backpressure), so "endless" and "1,000,000 tools" cost the test nothing up front, and
// writing stops when the reader hangs up.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * - endless-line: initialize is answered as an event stream whose data line never ends
 * - endless-event: initialize (and the HTTP+SSE GET) is answered as an event stream of data lines that never has a blank line
 * - huge-list: tools/list is answered as one endless JSON answer (tool after tool)
 * - million-tools: tools/list is answered with 1,000,000 tools in one JSON answer
 * - huge-call: one tool, "big", whose tools/call answer never ends (JSON, or an event stream with ?sse);
 *   the tool "small" answers at once
 * - internal-json: not MCP at all: an internal service answering every request with its own JSON
 * - held-line: as endless-line, but after its first bytes the stream waits for release()
 */
export type HostileMode = 'endless-line' | 'endless-event' | 'huge-list' | 'million-tools' | 'huge-call' | 'internal-json' | 'held-line';

export interface HostileUpstream {
  url(mode: HostileMode, query?: string): string;
  /** Answers being written right now (a stream counts until the reader hung up). */
  readonly streaming: number;
  /** Answers that were cut by their reader before they ended. */
  readonly abandoned: number;
  /** held-line streams write their first bytes, then wait for this. */
  release(): void;
  close(): Promise<void>;
}

/** The JSON an internal service answers with: keys nobody outside may learn. */
export const INTERNAL_BODY = {
  jsonrpc: '2.0',
  internal_admin_password_hash: 'x',
  billing_customer_ssn_column: 'y',
  users: [{ id: 1, email: 'root@internal.example' }],
};

const INIT_RESULT = {
  protocolVersion: '2025-06-18',
  capabilities: { tools: {} },
  serverInfo: { name: 'hostile', version: '1.0.0' },
};

export async function startHostileUpstream(): Promise<HostileUpstream> {
  let streaming = 0;
  let abandoned = 0;
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  const server = createServer((req, res) => {
    void handle(req, res).catch(() => res.destroy());
  });

  /** Writes what `next` makes until it answers undefined, or the reader hangs up. */
  function pump(res: ServerResponse, next: () => string | undefined): void {
    streaming++;
    let ended = false;
    res.on('close', () => {
      streaming--;
      if (!ended) abandoned++;
    });
    const write = (): void => {
      while (!res.destroyed) {
        const chunk = next();
        if (chunk === undefined) {
          ended = true;
          res.end();
          return;
        }
        if (!res.write(chunk)) {
          res.once('drain', write);
          return;
        }
      }
    };
    write();
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const mode = url.pathname.slice(1) as HostileMode;
    if (mode === 'internal-json') {
      // With the id of the request, so a client takes it for the answer.
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      const asked = (chunks.length > 0 ? JSON.parse(Buffer.concat(chunks).toString('utf8')) : {}) as { id?: unknown };
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ ...INTERNAL_BODY, id: asked.id ?? 0 }));
      return;
    }
    if (req.method === 'DELETE') return void res.writeHead(200).end();
    // HTTP+SSE: the GET stream of endless-event never ends an event.
    if (req.method === 'GET' && mode === 'endless-event') {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      return pump(res, () => `data: ${'x'.repeat(1024)}\n`);
    }
    if (req.method !== 'POST') return void res.writeHead(405).end();
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const message = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { id?: string | number; method?: string; params?: { name?: string } };
    if (message.id === undefined) return void res.writeHead(202).end();
    const head = (sse: boolean) => res.writeHead(200, { 'content-type': sse ? 'text/event-stream' : 'application/json', 'mcp-session-id': 'hostile-session' });
    const json = (result: unknown): void => void head(false).end(JSON.stringify({ jsonrpc: '2.0', id: message.id, result }));
    const id = JSON.stringify(message.id);

    if (message.method === 'initialize') {
      if (mode === 'endless-line') {
        head(true);
        let started = false;
        return pump(res, () => (started ? 'x'.repeat(16384) : ((started = true), 'data: {"jsonrpc":"2.0","result":"')));
      }
      if (mode === 'held-line') {
        head(true);
        streaming++;
        res.on('close', () => streaming--);
        res.write('data: {"jsonrpc":"2.0","result":"');
        await released;
        if (res.destroyed) return;
        streaming--;
        res.removeAllListeners('close');
        return pump(res, () => 'x'.repeat(16384));
      }
      if (mode === 'endless-event') {
        head(true);
        return pump(res, () => `data: ${'x'.repeat(1024)}\n`);
      }
      return json(INIT_RESULT);
    }
    if (message.method === 'tools/list') {
      if (mode === 'huge-list' || mode === 'million-tools') {
        head(false);
        let i = 0;
        const total = mode === 'million-tools' ? 1_000_000 : Number.POSITIVE_INFINITY;
        const padding = mode === 'huge-list' ? 'x'.repeat(1000) : '';
        return pump(res, () => {
          if (i === 0 && total > 0) {
            i++;
            return `{"jsonrpc":"2.0","id":${id},"result":{"tools":[{"name":"t0","description":"${padding}","inputSchema":{"type":"object"}}`;
          }
          if (i > total) return undefined;
          if (i === total) {
            i++;
            return ']}}';
          }
          const batch: string[] = [];
          for (let n = 0; n < 1000 && i < total; n++, i++) batch.push(`,{"name":"t${i}","description":"${padding}","inputSchema":{"type":"object"}}`);
          return batch.join('');
        });
      }
      return json({ tools: [{ name: 'big', inputSchema: { type: 'object' } }, { name: 'small', inputSchema: { type: 'object' } }] });
    }
    if (message.method === 'tools/call' && mode === 'huge-call') {
      if (message.params?.name === 'small') return json({ content: [{ type: 'text', text: 'small answer' }] });
      const sse = url.searchParams.has('sse');
      head(sse);
      let started = false;
      return pump(res, () => {
        if (started) return 'x'.repeat(16384);
        started = true;
        return `${sse ? 'event: message\ndata: ' : ''}{"jsonrpc":"2.0","id":${id},"result":{"content":[{"type":"text","text":"`;
      });
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ jsonrpc: '2.0', id: message.id, error: { code: -32601, message: 'Method not found' } }));
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: (mode, query) => `http://127.0.0.1:${port}/${mode}${query ? `?${query}` : ''}`,
    get streaming() {
      return streaming;
    },
    get abandoned() {
      return abandoned;
    },
    release: () => release(),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
