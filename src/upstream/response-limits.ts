// Byte caps on what is read from an upstream (an MCP server, an OAuth token endpoint), enforced while the
// bytes stream in: a body is cut, and the read fails with ResponseTooLargeError, as soon as it passes its
// cap, so a hostile or broken server costs at most the cap in memory, never the process.
//
// Two caps (flags --upstream-max-message-bytes and --upstream-max-response-bytes):
//  - a message: a JSON answer, or one event of an event stream (every byte since the last blank line);
//  - a response: every byte of one answer, for reads that end (discovery, including its event streams,
//    and OAuth token answers). The data plane's long-lived streams have the per-event cap only.
import { mediaType } from '../domain/media-type.js';
import { SseEventTooLargeError, SseParser } from '../domain/sse-parser.js';
import type { FetchLike } from './types.js';

export interface UpstreamLimits {
  /** The largest message: a JSON answer or one event of a stream. */
  maxMessageBytes: number;
  /** The most bytes of one answer in all (discovery, OAuth token answers). */
  maxResponseBytes: number;
}

export const DEFAULT_UPSTREAM_LIMITS: UpstreamLimits = { maxMessageBytes: 4 * 1024 * 1024, maxResponseBytes: 16 * 1024 * 1024 };

/** What passed its cap: one message (a JSON answer), one event of a stream, or a whole answer. */
export type OversizedPart = 'message' | 'event' | 'response';

export class ResponseTooLargeError extends Error {
  constructor(
    readonly limitBytes: number,
    readonly part: OversizedPart,
  ) {
    super(`${PART_TEXT[part]} exceeded ${limitBytes} bytes`);
    this.name = 'ResponseTooLargeError';
  }

  /** "an event of the stream", ... */
  get what(): string {
    return PART_TEXT[this.part];
  }

  /** The flag that sets the cap that was passed. */
  get flag(): string {
    return this.part === 'response' ? '--upstream-max-response-bytes' : '--upstream-max-message-bytes';
  }
}

const PART_TEXT: Record<OversizedPart, string> = {
  message: 'an answer',
  event: 'an event of the stream',
  response: 'the whole answer',
};

/** Tools kept per server at most; a server listing more fails (ResponseTooLarge), it is not truncated. */
export const MAX_TOOLS = 10_000;

/** A server listed more tools than the control plane keeps (they are not truncated). */
export class TooManyToolsError extends Error {
  constructor(readonly limit: number) {
    super(`tools/list reported more than ${limit} tools`);
    this.name = 'TooManyToolsError';
  }
}

/** The ResponseTooLargeError somewhere in `error`'s cause chain. */
export function responseTooLarge(error: unknown): ResponseTooLargeError | undefined {
  let e: unknown = error;
  for (let depth = 0; depth < 8 && e !== undefined && e !== null; depth++) {
    if (e instanceof ResponseTooLargeError) return e;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

export interface FetchCaps {
  /** Per JSON answer and per event of a stream. */
  maxMessageBytes: number;
  /** Per event stream in all; absent: unbounded (a long-lived stream). */
  maxStreamBytes?: number;
}

/**
 * A fetch whose answers' bodies fail with ResponseTooLargeError once they pass the caps. `onExceeded`
 * hears of each, since a transport may swallow its stream's error (the SDK's report only a string).
 */
export function limitFetch(base: FetchLike, caps: FetchCaps, onExceeded: (error: ResponseTooLargeError) => void = () => undefined): FetchLike {
  return async (url, init) => {
    const response = await base(url, init);
    // A body on these statuses cannot be put in a Response (and undici answers none).
    if (!response.body || NULL_BODY_STATUSES.has(response.status)) return response;
    const stream = mediaType(response.headers.get('content-type')) === 'text/event-stream';
    const check = stream ? streamCheck(caps) : totalCheck(caps.maxMessageBytes, 'message');
    const declared = Number(response.headers.get('content-length') ?? NaN);
    if (!stream && declared > caps.maxMessageBytes) {
      const error = new ResponseTooLargeError(caps.maxMessageBytes, 'message');
      await response.body.cancel(error).catch(() => undefined);
      onExceeded(error);
      return withBody(response, erroredStream(error));
    }
    return withBody(response, cappedStream(response.body, check, onExceeded));
  };
}

/**
 * The body as text, failing with ResponseTooLargeError (and cancelling the rest) once it passes
 * `maxBytes`. For answers read whole (a token endpoint's).
 */
export async function readTextCapped(response: Response, maxBytes: number): Promise<string> {
  return Buffer.from(await readBytesCapped(response, maxBytes)).toString('utf8');
}

/** The body's bytes, failing with ResponseTooLargeError (and cancelling the rest) once it passes `maxBytes`. */
export async function readBytesCapped(response: Response, maxBytes: number): Promise<Uint8Array> {
  if (!response.body) return new Uint8Array();
  const declared = Number(response.headers.get('content-length') ?? NaN);
  const tooLarge = new ResponseTooLargeError(maxBytes, 'response');
  if (declared > maxBytes) {
    await response.body.cancel(tooLarge).catch(() => undefined);
    throw tooLarge;
  }
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      await reader.cancel(tooLarge).catch(() => undefined);
      throw tooLarge;
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks, total);
}

const NULL_BODY_STATUSES = new Set([101, 103, 204, 205, 304]);

type Check = (chunk: Uint8Array) => void;

function totalCheck(max: number, part: OversizedPart): Check {
  let total = 0;
  return (chunk) => {
    total += chunk.byteLength;
    if (total > max) throw new ResponseTooLargeError(max, part);
  };
}

function streamCheck(caps: FetchCaps): Check {
  const events = new SseParser({ maxEventBytes: caps.maxMessageBytes });
  const total = caps.maxStreamBytes !== undefined ? totalCheck(caps.maxStreamBytes, 'response') : undefined;
  return (chunk) => {
    total?.(chunk);
    try {
      events.push(chunk);
    } catch (error) {
      if (error instanceof SseEventTooLargeError) throw new ResponseTooLargeError(error.limitBytes, 'event');
      throw error;
    }
  };
}

function cappedStream(body: ReadableStream<Uint8Array>, check: Check, onExceeded: (error: ResponseTooLargeError) => void): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      let next: Awaited<ReturnType<typeof reader.read>>;
      try {
        next = await reader.read();
      } catch (error) {
        controller.error(error);
        return;
      }
      if (next.done) return controller.close();
      try {
        check(next.value);
      } catch (error) {
        controller.error(error);
        await reader.cancel(error).catch(() => undefined);
        if (error instanceof ResponseTooLargeError) onExceeded(error);
        return;
      }
      controller.enqueue(next.value);
    },
    cancel: (reason) => reader.cancel(reason),
  });
}

function erroredStream(error: Error): ReadableStream<Uint8Array> {
  return new ReadableStream<Uint8Array>({ start: (controller) => controller.error(error) });
}

/** The same answer (status, headers, URL) with another body. */
function withBody(response: Response, body: ReadableStream<Uint8Array>): Response {
  const wrapped = new Response(body, { status: response.status, statusText: response.statusText, headers: response.headers });
  Object.defineProperty(wrapped, 'url', { value: response.url });
  Object.defineProperty(wrapped, 'redirected', { value: response.redirected });
  return wrapped;
}
