// Watch streams of MCP servers (text/event-stream), fed by the one ChangeFeed.
//
// A session goes through up to three phases (a listing session first waits, writing nothing, for its
// snapshot to be read: changes the feed hands out meanwhile are in the changelog after it):
//   snapshot  (no resourceVersion given) the current objects as ADDED, oldest resourceVersion first, each
//             with its own resourceVersion as SSE id, then a BOOKMARK { initialEventsEnd: true } whose id
//             is the store's resourceVersion at the snapshot;
//   replay    the changelog after the session's cursor, read page by page at the pace the client reads;
//   live      changes the feed hands out, through a bounded queue.
// Sorting the snapshot by resourceVersion makes every id resumable: after an id N the client has seen
// every object whose last change is <= N, and the changelog after N holds the rest.
//
// Contracts:
// - Every event carries `id: <resourceVersion>`; resuming after the last id received (resourceVersion=
//   or Last-Event-ID) replays exactly the changes the client has not seen: none missed, none repeated.
// - A slow client never holds anything up: the feed only pushes into its queue. When the queue holds
//   more than maxBufferedEvents, the stream ends with an ERROR event (reason TooSlow) naming the
//   resourceVersion to resume from.
// - Sessions see only objects their canRead accepts. An object that stops being readable is sent as
//   DELETED (id, fqn and name only) to a client that was shown it.
// - A per-user server's ADDED/MODIFIED frames carry the session's caller's authStatus (authStatusFor): made
//   for that session (a credential read), in order: later frames wait for it. Every other frame is the
//   one text rendered for all sessions, written without waiting.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Clock, TimerHandle } from '../domain/clock.js';
import { systemClock } from '../domain/clock.js';
import type { Logger } from '../domain/logger.js';
import type { ReadScope } from '../domain/read-scope.js';
import type { AuthStatus, McpServerResource } from '../domain/resource.js';
import type { Change, ChangeLog, ChangeType, ResourceReader, Transactions } from '../store/index.js';
import type { ChangeFeed } from './watch-feed.js';

export type WatchEventType = ChangeType | 'BOOKMARK' | 'ERROR';

export const DEFAULT_BOOKMARK_INTERVAL_MS = 30_000;
export const DEFAULT_MAX_BUFFERED_EVENTS = 1000;
/** Frames written in one go before yielding to the event loop (snapshot and replay). */
const FRAMES_PER_TURN = 200;

export interface WatchHubOptions {
  feed: ChangeFeed;
  store: ResourceReader & ChangeLog & Transactions;
  tenant: string;
  /** How an object looks on the wire: exactly as GET answers it. */
  present: (r: McpServerResource) => unknown;
  clock?: Clock;
  logger: Logger;
  bookmarkIntervalMs?: number;
  maxBufferedEvents?: number;
  /** Changes read per replay query. */
  replayPageSize?: number;
  /** Called when a session ends because it fell too far behind (metrics). */
  onOverflow?: () => void;
}

export interface WatchRequest {
  /** Replay every change after this resourceVersion; undefined: start with the current objects as ADDED. */
  resourceVersion: number | undefined;
  /** undefined: the caller may read everything. */
  canRead: ((r: McpServerResource) => boolean) | undefined;
  /** The same rule as data, for the store to list the current objects from its index (see ListQuery.readableBy). */
  readableBy?: ReadScope;
  /**
   * The caller's own authStatus of a per-user server (a promise), or undefined at once for any other server,
   * whose stored authStatus stands. Absent: every frame as stored.
   */
  authStatusFor?: (r: McpServerResource) => Promise<AuthStatus | undefined> | undefined;
}

type Phase = 'listing' | 'snapshot' | 'replay' | 'live' | 'closed';

interface Frame {
  /** undefined while a per-user frame is being made for this session. */
  text: string | undefined;
  id: number | undefined;
}

/** A frame's text, or its making (a per-user server's, with the caller's authStatus). */
type FrameText = string | Promise<string>;

export function sseFrame(type: WatchEventType, object: unknown, id?: number): string {
  return `${id !== undefined ? `id: ${id}\n` : ''}data: ${JSON.stringify({ type, object })}\n\n`;
}

/** Renders the frames of one change lazily, once, for every session that needs them. */
class ChangeFrames {
  private readonly byType = new Map<string, string>();
  constructor(
    readonly change: Change,
    private readonly present: (r: McpServerResource) => unknown,
  ) {}

  as(type: ChangeType): string {
    let text = this.byType.get(type);
    if (text === undefined) {
      text = sseFrame(type, this.present(this.change.object), this.change.resourceVersion);
      this.byType.set(type, text);
    }
    return text;
  }

  /** DELETED for a client that may no longer read the object: no more than it already knew. */
  gone(): string {
    let text = this.byType.get('gone');
    if (text === undefined) {
      const o = this.change.object;
      text = sseFrame('DELETED', { id: o.id, fqn: o.fqn, name: o.name, resourceVersion: String(this.change.resourceVersion) }, this.change.resourceVersion);
      this.byType.set('gone', text);
    }
    return text;
  }
}

class WatchSession {
  phase: Phase;
  /** Every change <= cursor has been written, queued or filtered out for this client. */
  cursor: number;
  private snapshot: McpServerResource[] = [];
  private snapshotIndex = 0;
  private snapshotRv = 0;
  private readonly queue: Frame[] = [];
  private lastWrittenId: number | undefined;
  private waitingForDrain = false;
  private scheduled = false;
  /** The next page of the replay, read ahead of the pump (see loadPage); 'expired' when the cursor fell out of the changelog. */
  private page: readonly Change[] | 'expired' | undefined;
  /** fqns this client was shown; kept for filtered sessions only. */
  private readonly known = new Set<string>();
  /** Started with a list, so the client holds exactly what it was shown: an object new to it is ADDED. */
  private readonly fromList: boolean;
  /** The rest of a replay page, written one change at a time (a per-user frame may be waited for). */
  private rest: readonly Change[] = [];
  private restIndex = 0;

  constructor(
    private readonly hub: WatchHub,
    private readonly res: ServerResponse,
    private readonly canRead: ((r: McpServerResource) => boolean) | undefined,
    from: number | undefined,
    private readonly authStatusFor?: WatchRequest['authStatusFor'],
  ) {
    this.fromList = from === undefined;
    if (from === undefined) {
      this.phase = 'listing';
      this.cursor = 0;
    } else {
      this.phase = 'replay';
      this.cursor = from;
      this.lastWrittenId = from;
    }
  }

  /** A consistent snapshot: the objects and the resourceVersion they are current at. */
  takeSnapshot(objects: McpServerResource[], rv: number): void {
    if (this.phase !== 'listing') return;
    this.phase = 'snapshot';
    this.snapshot = objects.sort((a, b) => a.resourceVersion - b.resourceVersion);
    this.snapshotRv = rv;
    this.cursor = rv;
  }

  /** The frame this client gets for a change, if any; updates what the client knows. */
  frameFor(frames: ChangeFrames): FrameText | undefined {
    const { change } = frames;
    if (!this.canRead) return this.own(change.object, change.type, change.resourceVersion) ?? frames.as(change.type);
    const readable = this.canRead(change.object);
    const known = this.known.has(change.fqn);
    if (change.type === 'DELETED') {
      this.known.delete(change.fqn);
      if (readable) return frames.as('DELETED');
      return known ? frames.gone() : undefined;
    }
    if (readable) {
      this.known.add(change.fqn);
      const type = !known && this.fromList ? 'ADDED' : change.type;
      return this.own(change.object, type, change.resourceVersion) ?? frames.as(type);
    }
    if (known) {
      this.known.delete(change.fqn);
      return frames.gone();
    }
    return undefined;
  }

  /**
   * This session's own frame of a per-user server (ADDED or MODIFIED, with the caller's authStatus), or
   * undefined when the shared one stands. A failed credential read leaves the stored authStatus.
   */
  private own(r: McpServerResource, type: ChangeType, id: number): Promise<string> | undefined {
    if (type === 'DELETED') return undefined;
    const status = this.authStatusFor?.(r);
    if (!status) return undefined;
    return status.then(
      (authStatus) => sseFrame(type, authStatus ? { ...(this.hub.present(r) as object), authStatus } : this.hub.present(r), id),
      () => sseFrame(type, this.hub.present(r), id),
    );
  }

  /** From the feed, in resourceVersion order. Only queues: the hub pumps once the batch is handed out. */
  deliver(frames: ChangeFrames): void {
    if (this.phase !== 'live' || frames.change.resourceVersion <= this.cursor) return;
    this.cursor = frames.change.resourceVersion;
    const text = this.frameFor(frames);
    if (text === undefined) return;
    if (typeof text === 'string') return this.enqueue({ text, id: this.cursor });
    const frame: Frame = { text: undefined, id: this.cursor };
    this.enqueue(frame);
    void text.then((made) => {
      frame.text = made;
      this.pump();
    });
  }

  /** Writes `text` now, or once it is made (true: written; false: the pump goes on once it is). */
  private writeNowOrLater(text: FrameText, id: number): boolean {
    if (typeof text === 'string') {
      this.write({ text, id });
      return true;
    }
    this.scheduled = true;
    void text.then((made) => {
      this.scheduled = false;
      if (this.phase === 'closed') return;
      this.write({ text: made, id });
      this.pump();
    });
    return false;
  }

  bookmark(): void {
    if (this.phase !== 'live') return;
    this.enqueue({ text: sseFrame('BOOKMARK', { resourceVersion: String(this.cursor) }, this.cursor), id: this.cursor });
    this.pump();
  }

  private enqueue(frame: Frame): void {
    this.queue.push(frame);
    if (this.queue.length <= this.hub.maxBufferedEvents) return;
    // Too slow only if the socket will not take what is queued.
    this.pump();
    if (this.queue.length > this.hub.maxBufferedEvents) this.overflow();
  }

  /** Writes while the socket takes it; continues on 'drain' (or on the next turn after a long run). */
  pump(): void {
    if (this.phase === 'closed' || this.waitingForDrain || this.scheduled) return;
    let written = 0;
    while (!this.res.writableNeedDrain) {
      if (written >= FRAMES_PER_TURN) {
        this.scheduled = true;
        setImmediate(() => {
          this.scheduled = false;
          this.pump();
        });
        return;
      }
      if (this.phase === 'snapshot') {
        const next = this.snapshot[this.snapshotIndex];
        if (next) {
          this.snapshot[this.snapshotIndex++] = undefined as unknown as McpServerResource;
          if (this.canRead) this.known.add(next.fqn);
          const text = this.own(next, 'ADDED', next.resourceVersion) ?? sseFrame('ADDED', this.hub.present(next), next.resourceVersion);
          if (!this.writeNowOrLater(text, next.resourceVersion)) return;
        } else {
          this.snapshot = [];
          this.write({
            text: sseFrame('BOOKMARK', { resourceVersion: String(this.snapshotRv), initialEventsEnd: true }, this.snapshotRv),
            id: this.snapshotRv,
          });
          this.phase = 'replay';
        }
        written++;
      } else if (this.phase === 'replay') {
        if (this.restIndex < this.rest.length) {
          const change = this.rest[this.restIndex++]!;
          this.cursor = change.resourceVersion;
          written++;
          const text = this.frameFor(new ChangeFrames(change, this.hub.present));
          if (text !== undefined && !this.writeNowOrLater(text, change.resourceVersion)) return;
          continue;
        }
        if (this.cursor >= this.hub.feedPosition) {
          this.phase = 'live';
          continue;
        }
        const page = this.page;
        if (page === undefined) {
          this.loadPage();
          return;
        }
        this.page = undefined;
        if (page === 'expired') {
          this.fail({ code: 410, reason: 'Expired', message: expiredMessage(this.cursor) });
          return;
        }
        if (page.length === 0) {
          this.phase = 'live';
          continue;
        }
        this.rest = page;
        this.restIndex = 0;
      } else if (this.phase === 'live') {
        // Everything queued in one write: one syscall per batch of changes, not per event. Live frames are
        // rendered already and the queue is bounded, so they are not held to FRAMES_PER_TURN: a pump put
        // off to the next turn would let a burst from one feed read overflow a client that keeps up. A
        // frame still being made holds back those after it (the pump runs again once it is made).
        let ready = 0;
        while (ready < this.queue.length && this.queue[ready]!.text !== undefined) ready++;
        if (ready === 0) return;
        const batch = this.queue.splice(0, ready);
        this.write({ text: batch.length === 1 ? batch[0]!.text! : batch.map((f) => f.text).join(''), id: batch[batch.length - 1]!.id });
      } else {
        return;
      }
    }
    this.waitingForDrain = true;
    this.res.once('drain', () => {
      this.waitingForDrain = false;
      this.pump();
    });
  }

  /** Reads the replay's next page, then pumps again; the pump waits meanwhile (as for a drain). */
  private loadPage(): void {
    this.scheduled = true;
    const cursor = this.cursor;
    const read = async (): Promise<readonly Change[] | 'expired'> =>
      cursor < (await this.hub.store.oldestRetainedResourceVersion()) - 1 ? 'expired' : this.hub.store.changesSince(cursor, this.hub.replayPageSize);
    read()
      .then((page) => {
        this.scheduled = false;
        if (this.phase === 'closed') return;
        this.page = page;
        this.pump();
      })
      .catch((err: unknown) => {
        this.scheduled = false;
        this.hub.readFailed(err);
        this.fail({ code: 500, reason: 'InternalError', message: 'Reading the changes failed; watch again from the last resourceVersion received.' });
      });
  }

  private write(frame: Frame): void {
    this.res.write(frame.text!);
    if (frame.id !== undefined) this.lastWrittenId = frame.id;
  }

  private overflow(): void {
    const resume = this.lastWrittenId;
    this.hub.overflowed();
    this.fail({
      reason: 'TooSlow',
      message:
        `This watch fell more than ${this.hub.maxBufferedEvents} events behind because the client reads too slowly, so the server ended it. ` +
        (resume !== undefined
          ? `Watch again with resourceVersion=${resume} (or Last-Event-ID: ${resume}) to resume without missing an event.`
          : 'Watch again (without resourceVersion) to start over.'),
      ...(resume !== undefined ? { resourceVersion: String(resume) } : {}),
    });
  }

  /** Ends the stream with an ERROR event (no id: the client resumes from the last real one). */
  fail(status: { code?: number; reason: string; message: string; resourceVersion?: string }): void {
    if (this.phase === 'closed') return;
    this.res.write(sseFrame('ERROR', status));
    this.end();
  }

  end(): void {
    if (this.phase === 'closed') return;
    this.close();
    this.res.end();
  }

  close(): void {
    this.phase = 'closed';
    this.queue.length = 0;
    this.snapshot = [];
    this.page = undefined;
    this.rest = [];
    this.hub.forget(this);
  }
}

function expiredMessage(rv: number): string {
  return (
    `resourceVersion ${rv} is older than the changes this server keeps (at least the last 10,000 or the last hour). ` +
    'List the servers (GET /api/svc/v1/mcp-servers) and watch again without resourceVersion: the stream then starts with the current objects.'
  );
}

export class WatchHub {
  readonly store: ResourceReader & ChangeLog & Transactions;
  readonly present: (r: McpServerResource) => unknown;
  readonly maxBufferedEvents: number;
  readonly replayPageSize: number;
  private readonly feed: ChangeFeed;
  private readonly tenant: string;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly bookmarkIntervalMs: number;
  private readonly onOverflow: (() => void) | undefined;
  private readonly sessions = new Set<WatchSession>();
  private readonly unlisten: (() => void)[] = [];
  /** The hub listens to the feed only while a stream is open, so with none the feed reads nothing. */
  private unlistenFeed: (() => void) | undefined;
  private bookmarkTimer: TimerHandle | undefined;
  private running = false;

  constructor(options: WatchHubOptions) {
    this.feed = options.feed;
    this.store = options.store;
    this.tenant = options.tenant;
    this.present = options.present;
    this.clock = options.clock ?? systemClock;
    this.logger = options.logger;
    this.bookmarkIntervalMs = options.bookmarkIntervalMs ?? DEFAULT_BOOKMARK_INTERVAL_MS;
    this.maxBufferedEvents = options.maxBufferedEvents ?? DEFAULT_MAX_BUFFERED_EVENTS;
    this.replayPageSize = options.replayPageSize ?? 100;
    this.onOverflow = options.onOverflow;
  }

  get clientCount(): number {
    return this.sessions.size;
  }

  get feedPosition(): number {
    return this.feed.position;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.unlisten.push(
      this.feed.onGap(() => {
        for (const s of [...this.sessions]) if (s.phase === 'live') s.fail({ code: 410, reason: 'Expired', message: expiredMessage(s.cursor) });
      }),
    );
    this.scheduleBookmark();
  }

  /** Ends every stream; clients reconnect (and resume) against whatever serves next. */
  stop(): void {
    this.running = false;
    for (const u of this.unlisten.splice(0)) u();
    if (this.bookmarkTimer !== undefined) this.clock.clearTimeout(this.bookmarkTimer);
    this.bookmarkTimer = undefined;
    for (const s of [...this.sessions]) s.end();
  }

  /** Why a watch from this resourceVersion cannot be served (answer 410), or undefined. */
  async goneReason(resourceVersion: number | undefined): Promise<string | undefined> {
    if (resourceVersion === undefined) return undefined;
    const current = await this.store.currentResourceVersion();
    if (resourceVersion > current) {
      return (
        `resourceVersion ${resourceVersion} is newer than the newest change this server has (${current}), so it comes from another ` +
        'history. List the servers and watch again without resourceVersion.'
      );
    }
    if (resourceVersion < (await this.store.oldestRetainedResourceVersion()) - 1) return expiredMessage(resourceVersion);
    return undefined;
  }

  /** Answers the request with an event stream. Call goneReason() first. Never rejects: a failed read ends the stream with an ERROR. */
  async open(req: IncomingMessage, res: ServerResponse, request: WatchRequest): Promise<void> {
    res.writeHead(200, {
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-cache, no-transform',
      Connection: 'keep-alive',
      'X-Accel-Buffering': 'no',
    });
    req.socket.setNoDelay(true);
    req.socket.setTimeout(0);
    res.write('retry: 2000\n\n');
    const session = new WatchSession(this, res, request.canRead, request.resourceVersion, request.authStatusFor);
    this.sessions.add(session);
    res.on('close', () => session.close());
    res.on('error', () => session.close());
    this.unlistenFeed ??= this.feed.listen((changes) => this.broadcast(changes));
    // The session goes live where the feed's position is: that must be fixed first.
    await this.feed.following();
    if (session.phase === 'closed') return;
    if (request.resourceVersion === undefined) {
      try {
        // One snapshot: the objects and the resourceVersion they are current at.
        await this.store.snapshot(async () => {
          const rv = await this.store.currentResourceVersion();
          const { items } = await this.store.list({
            tenant: this.tenant,
            limit: Number.MAX_SAFE_INTEGER,
            offset: 0,
            ...(request.readableBy ? { readableBy: request.readableBy } : request.canRead ? { filter: request.canRead } : {}),
          });
          session.takeSnapshot(items, rv);
        });
      } catch (err) {
        this.readFailed(err);
        session.fail({ code: 500, reason: 'InternalError', message: 'Reading the servers failed; watch again.' });
        return;
      }
    }
    session.pump();
  }

  /** @internal A store read of a session failed: logged; the session ends. */
  readFailed(err: unknown): void {
    this.logger.error({ err: err instanceof Error ? err.message : String(err) }, 'watch: reading the store failed; ended the stream');
  }

  /** @internal */
  forget(session: WatchSession): void {
    this.sessions.delete(session);
    if (this.sessions.size === 0) {
      this.unlistenFeed?.();
      this.unlistenFeed = undefined;
    }
  }

  /** @internal */
  overflowed(): void {
    this.logger.warn({ maxBufferedEvents: this.maxBufferedEvents }, 'watch client too slow; ended its stream');
    this.onOverflow?.();
  }

  private broadcast(changes: readonly Change[]): void {
    if (this.sessions.size === 0) return;
    const sessions = [...this.sessions];
    for (const change of changes) {
      // Rendered once per change (and type), however many sessions get it.
      const frames = new ChangeFrames(change, this.present);
      for (const s of sessions) s.deliver(frames);
    }
    for (const s of sessions) s.pump();
  }

  private scheduleBookmark(): void {
    if (!this.running || this.bookmarkIntervalMs <= 0) return;
    this.bookmarkTimer = this.clock.setTimeout(() => {
      this.bookmarkTimer = undefined;
      for (const s of [...this.sessions]) s.bookmark();
      this.scheduleBookmark();
    }, this.bookmarkIntervalMs);
  }
}
