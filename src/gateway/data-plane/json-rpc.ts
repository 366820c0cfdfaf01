// What both ends of the relay need to read Streamable HTTP: the shape of a JSON-RPC message and its text
// (media types are src/domain/media-type.ts; event streams are parsed by src/domain/sse-parser.ts and written by event-log.ts).
import { StringDecoder } from 'node:string_decoder';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import type { AnswerEnvelope } from './answer-envelope.js';

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

interface Source {
  /** The text; undefined until asked for, when the message was checked on its bytes alone (answerFromBytes). */
  text: string | undefined;
  /** The bytes `text` was decoded from, when the gateway still holds them. */
  bytes: readonly Buffer[] | undefined;
  /** Whether `text` has no line break (so it fits in one data line of an event); found when first asked. */
  oneLine?: boolean;
}

/** What each message read from an upstream was parsed from. */
const sources = new WeakMap<object, Source>();

/**
 * Remembers that `message` was parsed from `text` (decoded from `bytes`), so relaying it unchanged costs
 * no second serialization or encoding: a large tool result is copied, not rebuilt.
 */
export function parsedFrom(message: unknown, text: string, bytes?: readonly Buffer[]): void {
  if (typeof message === 'object' && message !== null) sources.set(message, { text, bytes });
}

/**
 * The answer whose UTF-8 `bytes` (its chunks) scanAnswerEnvelope vouched for, without parsing them: its jsonrpc and
 * id are plain properties, and its result (or error) is parsed from the bytes when first read. The
 * relay reads only the envelope of most answers, so their bytes go to the client as they came.
 */
export function answerFromBytes(envelope: AnswerEnvelope, bytes: readonly Buffer[]): JSONRPCMessage {
  const message = { jsonrpc: '2.0', id: envelope.id } as Record<string, unknown>;
  // One getter per key, shared by every answer: objects given the same accessor share one shape (a getter
  // made per answer would give each its own, and every property read on answers would go megamorphic).
  Object.defineProperty(message, envelope.isError ? 'error' : 'result', envelope.isError ? LAZY_ERROR : LAZY_RESULT);
  sources.set(message, { text: undefined, bytes });
  return message as unknown as JSONRPCMessage;
}

/** The property `key` of an answerFromBytes message, parsed from its bytes and kept as a plain value from then on. */
function parseLazily(message: Record<string, unknown>, key: 'result' | 'error'): unknown {
  const value = (JSON.parse(textOf(message)!) as Record<string, unknown>)[key];
  Object.defineProperty(message, key, { value, enumerable: true, configurable: true, writable: true });
  return value;
}

const LAZY_RESULT: PropertyDescriptor = {
  enumerable: true,
  configurable: true,
  get(this: Record<string, unknown>) {
    return parseLazily(this, 'result');
  },
};
const LAZY_ERROR: PropertyDescriptor = {
  enumerable: true,
  configurable: true,
  get(this: Record<string, unknown>) {
    return parseLazily(this, 'error');
  },
};

function textOf(message: object): string | undefined {
  const source = sources.get(message);
  if (!source) return undefined;
  source.text ??= decodeUtf8(source.bytes!);
  return source.text;
}

/** The message as JSON text on one line: the upstream's own text when it came unchanged and has no line break. */
export function serialize(message: JSONRPCMessage): string {
  const source = sources.get(message);
  if (!source) return JSON.stringify(message);
  const text = textOf(message)!;
  source.oneLine ??= !text.includes('\n') && !text.includes('\r');
  return source.oneLine ? text : JSON.stringify(message);
}

/** The upstream's own bytes of the message (JSON), when it came unchanged in a body of its own. */
export function sourceBytes(message: JSONRPCMessage): readonly Buffer[] | undefined {
  return sources.get(message)?.bytes;
}

/** UTF-8 bytes to text, a chunk at a time (a character split between chunks decodes whole). */
export function decodeUtf8(chunks: readonly Buffer[]): string {
  if (chunks.length === 1) return chunks[0]!.toString('utf8');
  const decoder = new StringDecoder('utf8');
  const pieces = chunks.map((chunk) => decoder.write(chunk));
  pieces.push(decoder.end());
  return pieces.join('');
}

