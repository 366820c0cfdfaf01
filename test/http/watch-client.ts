// A test client of the watch stream: fetch + the code base's one event stream parser, collecting every event.
import { SseParser } from '../../src/domain/sse-parser.js';
import { ADMIN_TOKEN } from '../support/control-plane.js';

export interface WatchEventSeen {
  /** The SSE id: line, when there was one. */
  id: string | undefined;
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  object: any;
}

export interface OpenWatchOptions {
  token?: string;
  resourceVersion?: number | string;
  lastEventId?: string;
}

/** Parses SSE text into its complete events (data lines joined); an incomplete trailing event is left out. */
export function parseSse(text: string): { events: { id: string | undefined; data: string }[] } {
  const events: { id: string | undefined; data: string }[] = [];
  new SseParser({ onEvent: ({ id, data }) => void events.push({ id, data }) }).push(Buffer.from(text, 'utf8'));
  return { events };
}

export class WatchClient {
  readonly events: WatchEventSeen[] = [];
  ended = false;
  private waiters: (() => void)[] = [];
  private done: Promise<void> = Promise.resolve();

  private constructor(
    readonly status: number,
    readonly contentType: string | null,
    private readonly abort: AbortController,
  ) {}

  static async open(baseUrl: string, options: OpenWatchOptions = {}): Promise<WatchClient & { body?: string }> {
    const abort = new AbortController();
    const headers: Record<string, string> = { authorization: `Bearer ${options.token ?? ADMIN_TOKEN}`, accept: 'text/event-stream' };
    if (options.lastEventId !== undefined) headers['last-event-id'] = options.lastEventId;
    const rv = options.resourceVersion !== undefined ? `&resourceVersion=${options.resourceVersion}` : '';
    const res = await fetch(`${baseUrl}/api/svc/v1/mcp-servers?watch=true${rv}`, { headers, signal: abort.signal });
    const client = new WatchClient(res.status, res.headers.get('content-type'), abort);
    if (!res.headers.get('content-type')?.startsWith('text/event-stream')) {
      const body = await res.text();
      client.ended = true;
      return Object.assign(client, { body });
    }
    client.done = client.read(res.body!);
    return client;
  }

  private async read(body: ReadableStream<Uint8Array>): Promise<void> {
    const parser = new SseParser({ onEvent: (e) => void this.events.push({ id: e.id, ...(JSON.parse(e.data) as Omit<WatchEventSeen, 'id'>) }) });
    try {
      for await (const chunk of body) {
        const before = this.events.length;
        parser.push(chunk);
        if (this.events.length > before) this.wake();
      }
    } catch {
      // aborted
    } finally {
      this.ended = true;
      this.wake();
    }
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }

  /** Resolves with the first event (from index `from`) that matches, or fails after the timeout. */
  async waitFor(match: (e: WatchEventSeen) => boolean, options: { from?: number; timeoutMs?: number; what?: string } = {}): Promise<WatchEventSeen> {
    const deadline = Date.now() + (options.timeoutMs ?? 5000);
    for (;;) {
      const found = this.events.slice(options.from ?? 0).find(match);
      if (found) return found;
      if (this.ended) throw new Error(`stream ended before ${options.what ?? 'the event'}; saw ${this.describe()}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${options.what ?? 'the event'}; saw ${this.describe()}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  async waitForEnd(timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.ended) {
      if (Date.now() > deadline) throw new Error(`the stream did not end; saw ${this.describe()}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.max(1, deadline - Date.now()));
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  describe(): string {
    return JSON.stringify(this.events.map((e) => `${e.type}:${e.id ?? '-'}:${e.object?.name ?? e.object?.reason ?? ''}`));
  }

  async close(): Promise<void> {
    this.abort.abort();
    await this.done;
  }
}
