// What both ends of the relay need to read Streamable HTTP: the shape of a JSON-RPC message and media
// types (event streams are parsed by src/domain/sse-parser.ts and written by event-log.ts).
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

export { mediaType } from '../../domain/media-type.js';

/** The JSON text each message read from an upstream was parsed from (one line: it may go in an event). */
const sources = new WeakMap<object, string>();

/**
 * Remembers that `message` was parsed from `text`, so relaying it unchanged costs no second
 * serialization (a large tool result is then copied, not rebuilt). Text with a line break is not kept.
 */
export function parsedFrom(message: unknown, text: string): void {
  if (typeof message === 'object' && message !== null && !text.includes('\n') && !text.includes('\r')) sources.set(message, text);
}

/** The message as JSON text on one line: the upstream's own text when it came unchanged. */
export function serialize(message: JSONRPCMessage): string {
  return sources.get(message) ?? JSON.stringify(message);
}

