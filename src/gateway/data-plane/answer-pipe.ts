// A large JSON answer passed from the upstream to the client as its bytes arrive, instead of held until it
// was read in full (upstream-http.ts decides, client-channel.ts writes, gateway-session.ts counts).
//
// Contract: the client's response starts (200, application/json, the upstream's Content-Length) before the
// answer was checked; the bytes are checked as they pass (answer-envelope.ts), and the last chunk is held
// back until the check is done, so a client never reads a complete body that was not the answer. When the
// bytes prove not to be the answer to the request (not JSON, another id, a batch), or the upstream fails
// midway, the client's connection is ended before the declared length: the client sees its request fail
// with a broken connection (MCP clients reject that one request), not a JSON-RPC error, which can no longer
// be sent in that response.
import type { AnswerEnvelope } from './answer-envelope.js';

/** Answers this large and larger are passed on as they arrive; smaller ones are read in full first. */
export const STREAM_ANSWER_FROM_BYTES = 256 * 1024;

/** The client's side of one answer passed on as it arrives. */
export interface AnswerPipe {
  /** Writes the next bytes; false: the client is slower than the upstream, wait for onDrain. */
  write(chunk: Buffer): boolean;
  /** `resume` is called once the client took what was written (after write answered false). */
  onDrain(resume: () => void): void;
  /** `stop` is called when the client's connection closes before the answer ended. */
  onClose(stop: () => void): void;
  /** Every byte was written and checked as the answer to the request. */
  end(envelope: AnswerEnvelope): void;
  /** The bytes were not the answer, or the upstream failed midway (`reason`): the client's connection ends. */
  abort(reason: string): void;
}

/** Asked for by the upstream transport once an answer with a declared length passes STREAM_ANSWER_FROM_BYTES; undefined: read it in full. */
export type AnswerPipeOpener = (id: string | number, contentLength: number) => AnswerPipe | undefined;
