// The events one client session was sent on its event streams, kept so that a client whose connection
// dropped can resume a stream with Last-Event-ID (Streamable HTTP resumability). Every event gets an id
// unique within the session (a decimal sequence number) and belongs to one stream (the GET stream, or
// the event stream answering one POST).
//
// An event may also be written as its data arrives (appendStreamed: a large answer passed on as the upstream
// sends it): it has its id at once, its pieces are kept as they are written (a client resuming in the middle
// is replayed what was written so far, then gets the rest live), and a discarded one is never replayed.
//
// Bounded: at most MAX_EVENTS events and MAX_BYTES bytes of frames; the oldest go first (the newest event
// is kept whatever its size), and a stream delivered in full gives its frames back (forget, a while after). A cursor older
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
  /** The SSE frame as written (empty for a priming event, which carries no message); its pieces for a streamed event. */
  frame: string | (string | Buffer)[];
  /** Bytes of `frame`. */
  size: number;
  /** Small pieces of a streamed frame not yet joined into one (so that a trickle of bytes costs no object per byte). */
  staged?: Buffer[];
  stagedBytes?: number;
}

/** Pieces of a streamed frame smaller than this are joined into pieces of about this size. */
const PIECE_BYTES = 16 * 1024;

/** A frame (or a piece of one) as replayed: written to the client as it is. */
export type Frame = string | Buffer;

/** An event whose frame is written in pieces as its data arrives (EventLog.appendStreamed). */
export interface StreamedEvent {
  /** The start of the frame (its id and type, and "data: "), already kept: write it first. */
  readonly head: string;
  /** Keeps the next piece of the frame (written by the caller as well). */
  add(piece: Frame): void;
  /** The frame will not be replayed (the answer it carried failed); what was kept of it is dropped. */
  discard(): void;
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
    this.events.push({ seq, stream, frame: kept, size: kept.length });
    this.bytes += kept.length;
    this.trim();
    return frame;
  }

  /** Logs an event of `stream` whose message (JSON, one line per data line) is written in pieces as it arrives. */
  appendStreamed(stream: string): StreamedEvent {
    const seq = this.nextSeq++;
    const head = `id: ${seq}\nevent: message\ndata: `;
    const event: LoggedEvent = { seq, stream, frame: [head], size: head.length };
    this.events.push(event);
    this.bytes += head.length;
    this.trim();
    return {
      head,
      add: (piece) => {
        // Dropped meanwhile (trimmed, forgotten or discarded): nothing more is kept of it.
        if (typeof event.frame === 'string') return;
        if (piece.length < PIECE_BYTES) {
          (event.staged ??= []).push(typeof piece === 'string' ? Buffer.from(piece, 'utf8') : piece);
          event.stagedBytes = (event.stagedBytes ?? 0) + piece.length;
          if (event.stagedBytes >= PIECE_BYTES) joinStaged(event);
        } else {
          joinStaged(event);
          event.frame.push(piece);
        }
        event.size += piece.length;
        this.bytes += piece.length;
        this.trim();
      },
      discard: () => this.drop(event),
    };
  }

  /** Drops the oldest events past the bounds; the newest is kept whatever its size. */
  private trim(): void {
    while (this.events.length - this.head > 1 && (this.events.length - this.head > MAX_EVENTS || this.bytes > MAX_BYTES)) {
      this.drop(this.events[this.head]!);
      this.head++;
    }
    if (this.head > 1024 && this.head * 2 > this.events.length) {
      this.events.splice(0, this.head);
      this.head = 0;
    }
  }

  private drop(event: LoggedEvent): void {
    this.bytes -= event.size;
    event.frame = '';
    event.size = 0;
    event.staged = undefined;
  }

  /** The stream was delivered in full: its frames are not kept any more (a resume of it replays nothing). */
  forget(stream: string): void {
    for (let i = this.head; i < this.events.length; i++) {
      const event = this.events[i]!;
      if (event.stream === stream && event.size > 0) this.drop(event);
    }
  }

  /**
   * The stream of event `lastEventId` and the frames sent on it since, in order; undefined when the id
   * is not one of the kept events.
   */
  after(lastEventId: string): { stream: string; frames: Frame[] } | undefined {
    if (!/^[1-9]\d{0,15}$/.test(lastEventId)) return undefined;
    const seq = Number(lastEventId);
    const first = this.events[this.head];
    if (!first || seq < first.seq || seq >= this.nextSeq) return undefined;
    // Sequence numbers are consecutive among kept events.
    const at = this.head + (seq - first.seq);
    const stream = this.events[at]!.stream;
    const frames: Frame[] = [];
    for (let i = at + 1; i < this.events.length; i++) {
      const event = this.events[i]!;
      if (event.stream !== stream || event.size === 0) continue;
      if (typeof event.frame === 'string') frames.push(event.frame);
      else {
        joinStaged(event);
        for (const piece of event.frame) frames.push(piece);
      }
    }
    return { stream, frames };
  }
}

/** Joins a streamed event's staged small pieces into one piece of its frame. */
function joinStaged(event: LoggedEvent): void {
  if (!event.staged || typeof event.frame === 'string') return;
  event.frame.push(event.staged.length === 1 ? event.staged[0]! : Buffer.concat(event.staged));
  event.staged = undefined;
  event.stagedBytes = 0;
}
