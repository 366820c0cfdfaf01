// The events one client session was sent on its event streams, kept so that a client whose connection
// dropped can resume a stream with Last-Event-ID (Streamable HTTP resumability). Every event gets an id
// unique within the session (a decimal sequence number) and belongs to one stream (the GET stream, or
// the event stream answering one POST).
//
// Bounded: at most MAX_EVENTS events and MAX_BYTES bytes of frames; the oldest go first (the newest event
// is kept whatever its size), and a stream delivered in full gives its frames back (forget). A cursor older
// than what is kept is not known any more: the stream cannot be resumed from it.
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { serialize } from './json-rpc.js';

/** Events kept per session. */
export const MAX_EVENTS = 1000;
/** Bytes of frames kept per session. */
export const MAX_BYTES = 16 * 1024 * 1024;

interface LoggedEvent {
  seq: number;
  stream: string;
  /** The SSE frame as written (empty for a priming event, which carries no message). */
  frame: string;
}

export class EventLog {
  private readonly events: LoggedEvent[] = [];
  /** Index of the oldest kept event in `events` (dropped ones are spliced away in batches). */
  private head = 0;
  private bytes = 0;
  private nextSeq = 1;

  /** Logs `message` (or, undefined, a priming event) on `stream`; answers the frame to write. */
  append(stream: string, message: JSONRPCMessage | undefined): string {
    const seq = this.nextSeq++;
    const frame = message === undefined ? `id: ${seq}\ndata: \n\n` : `id: ${seq}\nevent: message\ndata: ${serialize(message)}\n\n`;
    // A priming event is only a cursor: its frame is never replayed, so it costs no bytes.
    const kept = message === undefined ? '' : frame;
    this.events.push({ seq, stream, frame: kept });
    this.bytes += kept.length;
    while (this.events.length - this.head > 1 && (this.events.length - this.head > MAX_EVENTS || this.bytes > MAX_BYTES)) {
      this.bytes -= this.events[this.head]!.frame.length;
      this.head++;
    }
    if (this.head > 1024 && this.head * 2 > this.events.length) {
      this.events.splice(0, this.head);
      this.head = 0;
    }
    return frame;
  }

  /** The stream was delivered in full: its frames are not kept any more (a resume of it replays nothing). */
  forget(stream: string): void {
    for (let i = this.head; i < this.events.length; i++) {
      const event = this.events[i]!;
      if (event.stream !== stream || event.frame === '') continue;
      this.bytes -= event.frame.length;
      event.frame = '';
    }
  }

  /**
   * The stream of event `lastEventId` and the frames sent on it since, in order; undefined when the id
   * is not one of the kept events.
   */
  after(lastEventId: string): { stream: string; frames: string[] } | undefined {
    if (!/^[1-9]\d{0,15}$/.test(lastEventId)) return undefined;
    const seq = Number(lastEventId);
    const first = this.events[this.head];
    if (!first || seq < first.seq || seq >= this.nextSeq) return undefined;
    // Sequence numbers are consecutive among kept events.
    const at = this.head + (seq - first.seq);
    const stream = this.events[at]!.stream;
    const frames: string[] = [];
    for (let i = at + 1; i < this.events.length; i++) {
      const event = this.events[i]!;
      if (event.stream === stream && event.frame !== '') frames.push(event.frame);
    }
    return { stream, frames };
  }
}
