// A large JSON answer passed from the upstream to the client as its bytes arrive, instead of held until it
// was read in full (upstream-http.ts decides, client-channel.ts writes, gateway-session.ts counts).
//
// Contract: the bytes are checked as they pass (answer-envelope.ts), and the last byte is held back until
// the check is done, so a client never reads a complete answer that was not the answer. The bytes written
// are views of the upstream socket's read buffer (reused-read-dispatcher.ts), valid only during write():
// a pipe that keeps them copies them, and one whose client socket still holds them says so, and no read
// into that buffer happens until they were written. The size cap
// applies as they pass (an answer without a declared length may prove too large midway). Two ways out:
// - A POST still answered as JSON: the client's response starts (200, application/json, the upstream's
//   Content-Length, or chunked when it declared none) before the answer was checked. When the bytes prove
//   not to be the answer (not JSON, another id, a batch), pass the cap, or the upstream fails midway, the
//   client's connection is ended short of the body's end: the client sees its request fail with a broken
//   connection (MCP clients reject that one request), since a JSON-RPC error can no longer be sent in it.
// - A POST already an event stream: the answer is one event whose data lines are the answer's lines
//   (each line break of the JSON starts a new "data:" line, as SSE requires). When it fails midway, the
//   event is ended with a type no MCP client takes as a message (DISCARDED_EVENT, so clients drop what
//   they read of it) and the request is answered with a JSON-RPC error event naming why.
import type { AnswerEnvelope } from './answer-envelope.js';

/** Answers this large and larger are passed on as they arrive; smaller ones are read in full first. */
export const STREAM_ANSWER_FROM_BYTES = 256 * 1024;

/** The client's side of one answer passed on as it arrives. */
export interface AnswerPipe {
  /**
   * Writes `chunks`, in order, valid only during this call. True: written, nothing of them is held (the
   * client's socket took them at once, or the pipe copied them). False: the client is slower than the
   * upstream, and holds them still: `written` is called (never before write returned) once it let go of
   * them, or closed; no more bytes come before that.
   */
  write(chunks: readonly Buffer[], written: () => void): boolean;
  /** `stop` is called when the client's connection closes before the answer ended. */
  onClose(stop: () => void): void;
  /** Every byte was written and checked as the answer to the request. */
  end(envelope: AnswerEnvelope): void;
  /**
   * The bytes were not the answer, passed the cap, or the upstream failed midway (`reason`, one sentence for
   * the client; `data`: the JSON-RPC error's data). An event stream answers the request with that error; a
   * JSON response can only be cut short.
   */
  abort(reason: string, data?: Record<string, unknown>): void;
}

/** The type of an event stream's event that carried an answer which failed midway: MCP clients ignore it. */
export const DISCARDED_EVENT = 'mcp-gateway-discarded';

/**
 * Asked for by the upstream transport once a JSON answer passes STREAM_ANSWER_FROM_BYTES still checking;
 * `contentLength` is the upstream's declared length, if it declared one. Undefined: read it in full.
 */
export type AnswerPipeOpener = (id: string | number, contentLength: number | undefined) => AnswerPipe | undefined;
