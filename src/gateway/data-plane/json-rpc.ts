// What both ends of the relay need to read Streamable HTTP: the shape of a JSON-RPC message, media
// types, and event streams.
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';

/** The shape of a JSON-RPC 2.0 message: a request or notification (method), or an answer (id with result or error). */
export function isMessage(value: unknown): value is JSONRPCMessage {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const m = value as Record<string, unknown>;
  if (m.jsonrpc !== '2.0') return false;
  const id = m.id;
  const validId = typeof id === 'string' || (typeof id === 'number' && Number.isInteger(id));
  if (typeof m.method === 'string') return (id === undefined || validId) && (m.params === undefined || (typeof m.params === 'object' && m.params !== null));
  return validId && ('result' in m ? typeof m.result === 'object' && m.result !== null : typeof m.error === 'object' && m.error !== null);
}

/** `application/json; charset=utf-8` → `application/json`. */
export function mediaType(header: string | string[] | undefined): string | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  return value?.split(';', 1)[0]!.trim().toLowerCase();
}

export function sseEvent(message: JSONRPCMessage): string {
  return `event: message\ndata: ${JSON.stringify(message)}\n\n`;
}

export interface SseEvent {
  event: string | undefined;
  data: string;
  id: string | undefined;
}

/** Parses an event stream fed in text chunks (the WHATWG event stream format, without BOM handling). */
export class SseParser {
  private buffer = '';
  private event: string | undefined;
  private data: string[] = [];
  private id: string | undefined;

  constructor(
    private readonly onEvent: (event: SseEvent) => void,
    private readonly onRetry: (ms: number) => void = () => undefined,
  ) {}

  push(chunk: string): void {
    this.buffer += chunk;
    let start = 0;
    for (;;) {
      const end = lineEnd(this.buffer, start);
      if (end === -1) break;
      this.line(this.buffer.slice(start, end));
      start = end + (this.buffer[end] === '\r' && this.buffer[end + 1] === '\n' ? 2 : 1);
    }
    this.buffer = this.buffer.slice(start);
  }

  private line(line: string): void {
    if (line === '') {
      if (this.data.length > 0) this.onEvent({ event: this.event, data: this.data.join('\n'), id: this.id });
      this.event = undefined;
      this.data = [];
      return;
    }
    if (line.startsWith(':')) return;
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'data') this.data.push(value);
    else if (field === 'event') this.event = value;
    else if (field === 'id' && !value.includes('\0')) this.id = value;
    else if (field === 'retry' && /^\d+$/.test(value)) this.onRetry(Number(value));
  }
}

/** The index of the next CR or LF at or after `from`; -1 when none, or when a CR ends the buffer (an LF may follow). */
function lineEnd(text: string, from: number): number {
  for (let i = from; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 10) return i;
    if (c === 13) return i + 1 < text.length ? i : -1;
  }
  return -1;
}
