// The body of a client's POST, read as express.json() would read it for the data plane (the same
// limit, content encodings and strict top level), without express's per-request machinery: the chunks
// of the request, inflated when the client compressed them, and one JSON.parse.
import type { IncomingMessage } from 'node:http';
import type { Readable } from 'node:stream';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';
import { jsonNestsDeeperThan } from '../../domain/json-depth.js';
import { mediaType } from '../../domain/media-type.js';

/** Client messages are JSON-RPC, not uploads. */
export const MAX_BODY_BYTES = 4 * 1024 * 1024;
/** Levels of [ and { a client message may nest: far more than tool arguments need. */
const MAX_BODY_DEPTH = 512;

/** Why a body cannot be read: the HTTP status and JSON-RPC error the client is answered with. */
export class BodyError extends Error {
  constructor(
    readonly status: number,
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

const tooLarge = () => new BodyError(413, -32600, `The request body is larger than ${MAX_BODY_BYTES / (1024 * 1024)}mb.`);
const notJson = () => new BodyError(400, -32700, 'Parse error: the body is not valid JSON.');

/** What readJsonBody hands on, once: the body (undefined: not JSON, or empty), or why it cannot be read. */
export type BodyCallback = (error: BodyError | undefined, body?: unknown) => void;

/**
 * The parsed JSON of a POST whose Content-Type is application/json; undefined for any other type (the
 * channel answers that with 415) and for an empty body; or a BodyError. A callback, not a promise: a relayed
 * message pays for no promise and no microtask turn before it goes on.
 */
export function readJsonBody(req: IncomingMessage, done: BodyCallback): void {
  const type = req.headers['content-type'];
  if (mediaType(type) !== 'application/json') return done(undefined, undefined);
  const charset = /;\s*charset\s*=\s*"?([^";\s]+)/i.exec(type!)?.[1]?.toLowerCase();
  if (charset !== undefined && charset !== 'utf-8' && charset !== 'utf8') {
    return done(new BodyError(415, -32000, `Unsupported charset "${charset}": send the body as UTF-8.`));
  }
  readBytes(req, (error, bytes) => {
    if (error) return done(error);
    let body: unknown;
    try {
      body = parseBody(bytes!);
    } catch (failure) {
      return done(failure as BodyError);
    }
    done(undefined, body);
  });
}

/** The JSON of a UTF-8 body: undefined when empty; throws a BodyError. */
function parseBody(bytes: Buffer): unknown {
  // The message is relayed and re-serialised (JSON.stringify recurses); checked before it is parsed.
  if (jsonNestsDeeperThan(bytes, MAX_BODY_DEPTH)) throw new BodyError(400, -32700, `Parse error: the body is nested deeper than ${MAX_BODY_DEPTH} levels.`);
  const text = bytes.toString('utf8');
  if (text.length === 0) return undefined;
  // Strict, as express.json(): the top level is an object or an array.
  const first = firstNonBlank(text);
  if (first !== OPEN_BRACE && first !== OPEN_BRACKET) throw notJson();
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw notJson();
  }
}

const OPEN_BRACE = 0x7b;
const OPEN_BRACKET = 0x5b;

/** The code of the first character of `text` that is not JSON whitespace (space, tab, LF, CR); NaN when there is none. */
function firstNonBlank(text: string): number {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c !== 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) return c;
  }
  return NaN;
}

function readBytes(req: IncomingMessage, done: (error: BodyError | undefined, bytes?: Buffer) => void): void {
  if (Number(req.headers['content-length']) > MAX_BODY_BYTES) return done(tooLarge());
  const encoding = (req.headers['content-encoding'] ?? 'identity').toLowerCase();
  const inflate =
    encoding === 'identity' ? undefined : encoding === 'gzip' ? createGunzip() : encoding === 'deflate' ? createInflate() : encoding === 'br' ? createBrotliDecompress() : null;
  if (inflate === null) return done(new BodyError(415, -32000, `Unsupported Content-Encoding "${encoding}".`));
  const source: Readable = inflate ? req.pipe(inflate) : req;
  const chunks: Buffer[] = [];
  let size = 0;
  let settled = false;
  const fail = (error: BodyError) => {
    if (settled) return;
    settled = true;
    if (inflate) req.unpipe(inflate);
    source.removeAllListeners('data');
    // The rest of the body is read and dropped, so the connection can carry the answer.
    req.resume();
    done(error);
  };
  source.on('data', (chunk: Buffer) => {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) return fail(tooLarge());
    chunks.push(chunk);
  });
  // `on`, not `once` (no wrapper per listener): `settled` makes each act once; the listeners go with the request.
  source.on('end', () => {
    if (settled) return;
    settled = true;
    done(undefined, chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
  });
  source.on('error', () => fail(encoding === 'identity' ? new BodyError(400, -32000, 'The request body could not be read.') : notJson()));
  // A client that goes away mid-body is answered nowhere; `done` is called all the same.
  req.on('close', () => {
    if (!req.complete) fail(new BodyError(400, -32000, 'The request was aborted.'));
  });
}
