// Requests the gateway forwarded upstream and still waits on. A request may have a deadline (an
// operator's cap, timeouts.request_ms): progress for it restarts the deadline (a long tool that reports
// progress is not a stuck one), and a request past its deadline is handed to onTimeout once and
// forgotten, so a late answer is dropped. Without a deadline a request waits as long as the client
// does (MCP leaves timeouts to the requester): until it is answered, cancelled, or the session ends.
import type { JSONRPCMessage, RequestId } from '@modelcontextprotocol/sdk/types.js';
import { systemClock, type Clock, type TimerHandle } from '../../domain/clock.js';

export interface PendingRequest {
  method: string;
  /** performance.now() when it was sent upstream. */
  sentAt: number;
  progressToken?: string | number;
  /** The gateway's own request: its answer goes here instead of to the client. */
  answer?: (message: JSONRPCMessage) => void;
}

interface Tracked extends PendingRequest {
  timer: TimerHandle | undefined;
}

export interface PendingRequestsOptions {
  /** The deadline of each request; 0 or absent: none. */
  timeoutMs?: number;
  onTimeout: (id: RequestId, request: PendingRequest) => void;
  /** The deadlines' clock. Default: the system clock. */
  clock?: Clock;
}

export class PendingRequests {
  private readonly byId = new Map<RequestId, Tracked>();
  private readonly byProgressToken = new Map<string | number, RequestId>();
  private readonly clock: Clock;

  constructor(private readonly options: PendingRequestsOptions) {
    this.clock = options.clock ?? systemClock;
  }

  get size(): number {
    return this.byId.size;
  }

  /** `request` (a fresh object of the caller's) is kept as it is, not copied. */
  add(id: RequestId, request: Omit<PendingRequest, 'sentAt'>): void {
    this.take(id);
    const tracked = request as Tracked;
    tracked.sentAt = performance.now();
    tracked.timer = this.arm(id);
    this.byId.set(id, tracked);
    if (request.progressToken !== undefined) this.byProgressToken.set(request.progressToken, id);
  }

  has(id: RequestId): boolean {
    return this.byId.has(id);
  }

  /** The request, if it is pending (it stays so). */
  get(id: RequestId): PendingRequest | undefined {
    return this.byId.get(id);
  }

  /** Forgets the request and answers it, if it was still pending. */
  take(id: RequestId): PendingRequest | undefined {
    const tracked = this.byId.get(id);
    if (!tracked) return undefined;
    if (tracked.timer) this.clock.clearTimeout(tracked.timer);
    this.byId.delete(id);
    if (tracked.progressToken !== undefined) this.byProgressToken.delete(tracked.progressToken);
    tracked.timer = undefined;
    return tracked;
  }

  /** The request a progress token belongs to; restarts its deadline. */
  progress(token: string | number): RequestId | undefined {
    const id = this.byProgressToken.get(token);
    const tracked = id === undefined ? undefined : this.byId.get(id);
    if (id === undefined || !tracked) return undefined;
    if (tracked.timer) this.clock.clearTimeout(tracked.timer);
    tracked.timer = this.arm(id);
    return id;
  }

  /** The most recent request the client is still waiting on (its response stream is open). */
  latestClientRequest(): RequestId | undefined {
    let latest: RequestId | undefined;
    for (const [id, tracked] of this.byId) if (!tracked.answer) latest = id;
    return latest;
  }

  /** Forgets every request; answers the ones still pending, each with its id. */
  clear(): [RequestId, PendingRequest][] {
    const all = [...this.byId.keys()];
    return all.map((id) => [id, this.take(id)!] as [RequestId, PendingRequest]);
  }

  private arm(id: RequestId): TimerHandle | undefined {
    const timeoutMs = this.options.timeoutMs ?? 0;
    if (timeoutMs <= 0) return undefined;
    return this.clock.setTimeout(() => {
      const request = this.take(id);
      if (request) this.options.onTimeout(id, request);
    }, timeoutMs);
  }
}
