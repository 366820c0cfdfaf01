// The client side of Streamable HTTP for one upstream session that is already initialized, on the
// server's own undici dispatcher (its TLS, proxy and egress checks). It keeps the SDK client
// transport's behaviour where the gateway depends on it (the same errors: StreamableHTTPError with the
// HTTP status, "Maximum reconnection attempts"; the GET stream opened after notifications/initialized
// and re-opened with backoff; redirects followed within the origin; DELETE to end the session) but
// not its cost: the SDK goes through fetch, so every message is a web Request, a chunked body and a
// web stream read twice over (text decoding, then event parsing). Here a message is one write and an
// answer is read as a node stream.
import { StreamableHTTPError } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import type { Dispatcher } from 'undici';
import { isMessage, mediaType, SseParser } from './json-rpc.js';

export interface ReconnectionOptions {
  initialReconnectionDelay: number;
  maxReconnectionDelay: number;
  reconnectionDelayGrowFactor: number;
  maxRetries: number;
}

export interface HttpUpstreamOptions {
  url: URL;
  /** Sent with every request (the entry's resolved headers). */
  headers: Record<string, string>;
  dispatcher: Dispatcher;
  /** Of the session the initialize handshake opened. */
  sessionId: string | undefined;
  protocolVersion: string | undefined;
  reconnection: ReconnectionOptions;
}

type Response = Dispatcher.ResponseData;

const MAX_REDIRECTS = 5;
const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);

export class HttpUpstreamTransport implements Transport {
  onmessage?: (message: JSONRPCMessage) => void;
  onerror?: (error: Error) => void;
  onclose?: () => void;
  private session: string | undefined;
  private protocolVersion: string | undefined;
  private readonly abort = new AbortController();
  private reconnectTimer: NodeJS.Timeout | undefined;
  /** The retry field of the upstream's event streams, when it sent one. */
  private serverRetryMs: number | undefined;

  constructor(private readonly options: HttpUpstreamOptions) {
    this.session = options.sessionId;
    this.protocolVersion = options.protocolVersion;
  }

  get sessionId(): string | undefined {
    return this.session;
  }

  async start(): Promise<void> {}

  setProtocolVersion(version: string): void {
    this.protocolVersion = version;
  }

  async send(message: JSONRPCMessage): Promise<void> {
    try {
      const headers = { ...this.commonHeaders(), 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
      const res = await this.request('POST', headers, JSON.stringify(message));
      const sessionId = res.headers['mcp-session-id'];
      if (typeof sessionId === 'string' && sessionId !== '') this.session = sessionId;
      if (res.statusCode < 200 || res.statusCode >= 300) {
        const text = await res.body.text().catch(() => null);
        throw new StreamableHTTPError(res.statusCode, `Error POSTing to endpoint: ${text}`);
      }
      if (res.statusCode === 202) {
        await res.body.dump();
        if ('method' in message && message.method === 'notifications/initialized') {
          this.openStream(undefined).catch(() => undefined);
        }
        return;
      }
      if (!('method' in message && 'id' in message)) return void (await res.body.dump());
      const type = mediaType(res.headers['content-type']);
      if (type === 'text/event-stream') return this.readStream(res, false);
      if (type !== 'application/json') {
        await res.body.dump();
        throw new StreamableHTTPError(-1, `Unexpected content type: ${String(res.headers['content-type'])}`);
      }
      const data = (await res.body.json()) as unknown;
      for (const item of Array.isArray(data) ? data : [data]) this.receive(item);
    } catch (error) {
      this.onerror?.(error as Error);
      throw error;
    }
  }

  /** Ends the upstream session (DELETE); a server that does not support it answers 405. */
  async terminateSession(): Promise<void> {
    if (!this.session) return;
    try {
      const res = await this.request('DELETE', this.commonHeaders());
      await res.body.dump();
      if ((res.statusCode < 200 || res.statusCode >= 300) && res.statusCode !== 405) {
        throw new StreamableHTTPError(res.statusCode, `Failed to terminate session: HTTP ${res.statusCode}`);
      }
      this.session = undefined;
    } catch (error) {
      this.onerror?.(error as Error);
      throw error;
    }
  }

  async close(): Promise<void> {
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = undefined;
    this.abort.abort();
    this.onclose?.();
  }

  private commonHeaders(): Record<string, string> {
    const headers: Record<string, string> = {};
    if (this.session) headers['mcp-session-id'] = this.session;
    if (this.protocolVersion) headers['mcp-protocol-version'] = this.protocolVersion;
    return { ...headers, ...this.options.headers };
  }

  /** The GET stream of messages the upstream sends on its own; 405: the upstream has none. */
  private async openStream(lastEventId: string | undefined): Promise<void> {
    try {
      const headers: Record<string, string> = { ...this.commonHeaders(), accept: 'text/event-stream' };
      if (lastEventId) headers['last-event-id'] = lastEventId;
      const res = await this.request('GET', headers);
      if (res.statusCode < 200 || res.statusCode >= 300) {
        await res.body.dump();
        if (res.statusCode === 405) return;
        throw new StreamableHTTPError(res.statusCode, `Failed to open SSE stream: HTTP ${res.statusCode}`);
      }
      this.readStream(res, true);
    } catch (error) {
      this.onerror?.(error as Error);
      throw error;
    }
  }

  /**
   * Hands out each message of an event stream. When it ends before an answer came, it is resumed
   * (the GET stream always; a POST's only when its events had ids), as the SDK does.
   */
  private readStream(res: Response, reconnectable: boolean): void {
    let lastEventId: string | undefined;
    let answered = false;
    const parser = new SseParser(
      (event) => {
        if (event.id) lastEventId = event.id;
        if (event.event !== undefined && event.event !== 'message') return;
        let message: unknown;
        try {
          message = JSON.parse(event.data);
        } catch (error) {
          return this.onerror?.(error as Error);
        }
        if (isMessage(message) && ('result' in message || 'error' in message)) answered = true;
        this.receive(message);
      },
      (ms) => (this.serverRetryMs = ms),
    );
    res.body.setEncoding('utf8');
    res.body.on('data', (chunk: string) => parser.push(chunk));
    const ended = (error?: Error) => {
      if (error && !this.abort.signal.aborted) this.onerror?.(new Error(`SSE stream disconnected: ${error.message}`));
      if ((reconnectable || lastEventId !== undefined) && !answered && !this.abort.signal.aborted) this.reconnect(lastEventId, 0);
    };
    res.body.once('end', () => ended());
    res.body.once('error', ended);
  }

  private reconnect(lastEventId: string | undefined, attempt: number): void {
    const { maxRetries, initialReconnectionDelay, reconnectionDelayGrowFactor, maxReconnectionDelay } = this.options.reconnection;
    if (attempt >= maxRetries) {
      this.onerror?.(new Error(`Maximum reconnection attempts (${maxRetries}) exceeded.`));
      return;
    }
    const delay = this.serverRetryMs ?? Math.min(initialReconnectionDelay * reconnectionDelayGrowFactor ** attempt, maxReconnectionDelay);
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      this.openStream(lastEventId).catch((error: unknown) => {
        this.onerror?.(new Error(`Failed to reconnect SSE stream: ${error instanceof Error ? error.message : String(error)}`));
        this.reconnect(lastEventId, attempt + 1);
      });
    }, delay);
  }

  private receive(message: unknown): void {
    if (isMessage(message)) this.onmessage?.(message);
    else this.onerror?.(new Error(`The upstream sent something that is not a JSON-RPC message: ${JSON.stringify(message).slice(0, 200)}`));
  }

  /** One request, following redirects within the origin (the method kept), as the SDK does. */
  private async request(method: 'GET' | 'POST' | 'DELETE', headers: Record<string, string>, body?: string): Promise<Response> {
    let url = this.options.url;
    for (let hop = 0; ; hop++) {
      const res = await this.options.dispatcher.request({
        origin: url.origin,
        path: `${url.pathname}${url.search}`,
        method,
        headers,
        ...(body !== undefined ? { body } : {}),
        signal: this.abort.signal,
      });
      const target = hop < MAX_REDIRECTS ? redirectTarget(res, url, method) : undefined;
      if (!target) return res;
      await res.body.dump();
      url = target;
    }
  }
}

function redirectTarget(res: Response, from: URL, method: string): URL | undefined {
  const location = res.headers.location;
  if (!REDIRECT_STATUSES.has(res.statusCode) || typeof location !== 'string') return undefined;
  if (!(res.statusCode === 307 || res.statusCode === 308 || method === 'GET')) return undefined;
  let target: URL;
  try {
    target = new URL(location, from);
  } catch {
    return undefined;
  }
  if ((target.username || target.password) && (target.username !== from.username || target.password !== from.password)) return undefined;
  const sameOrigin = target.protocol === from.protocol && target.hostname === from.hostname && target.port === from.port;
  const upgrade = target.hostname === from.hostname && from.protocol === 'http:' && from.port === '' && target.protocol === 'https:' && target.port === '';
  return sameOrigin || upgrade ? target : undefined;
}
