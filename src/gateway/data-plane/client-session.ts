// What every client session of the data plane shares, whatever stands behind it (one upstream, or the
// sources of a virtual server): the downstream channel, who opened it and when it was last used, and
// delivery to the client, where a message without a request to ride on waits (the newest OUTBOX_LIMIT)
// until the client opens its GET stream.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { JSONRPCMessage, RequestId } from '@modelcontextprotocol/sdk/types.js';
import type { Clock } from '../../domain/clock.js';
import type { Logger } from '../../domain/logger.js';
import type { Principal } from '../../domain/principal.js';
import { ClientChannel } from './client-channel.js';

/** Standalone messages kept for a client that has not opened its GET stream yet. */
const OUTBOX_LIMIT = 100;

export interface ClientSessionOptions {
  serverName: string;
  fqn: string;
  /** Who opened the session; only the same subject may use it. */
  principal: Principal;
  logger: Logger;
  /** Makes the session id (a replica's sessions name it: session-owners.ts). Default: a random UUID. */
  newSessionId?: () => string;
  /** The clock of request deadlines and of a POST's switch to an event stream. Default: the system clock. */
  clock?: Clock;
}

export abstract class ClientSession {
  readonly downstream: ClientChannel;
  readonly fqn: string;
  readonly principal: Principal;
  lastActivity = Date.now();
  /** Set by close(): nothing is sent to the client after it. */
  protected closed = false;
  private readonly outbox: JSONRPCMessage[] = [];
  private readonly shell: ClientSessionOptions;

  constructor(shell: ClientSessionOptions) {
    this.shell = shell;
    this.fqn = shell.fqn;
    this.principal = shell.principal;
    this.downstream = new ClientChannel({
      onInitialized: () => this.initialized(),
      onStreamOpened: () => {
        for (const message of this.outbox.splice(0)) this.send(message);
      },
      ...(shell.newSessionId ? { newSessionId: shell.newSessionId } : {}),
      ...(shell.clock ? { clock: shell.clock } : {}),
    });
    this.downstream.onmessage = (message) => {
      this.lastActivity = Date.now();
      this.fromClient(message);
    };
    this.downstream.onclose = () => void this.close('the client ended the session');
  }

  get id(): string | undefined {
    return this.downstream.sessionId;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** The client holds its GET stream open: it is listening, however long since its last request. */
  get isStreaming(): boolean {
    return this.downstream.streaming;
  }

  handle(req: IncomingMessage, res: ServerResponse, body: unknown): void {
    this.lastActivity = Date.now();
    this.downstream.handle(req, res, body);
  }

  /** Ends both sides; each request still unanswered gets an error naming `reason` first. Idempotent. */
  abstract close(reason: string): Promise<void>;

  /** The client's initialize was accepted (the session id is set). */
  protected abstract initialized(): void;

  /** A message from the client. */
  protected abstract fromClient(message: JSONRPCMessage): void;

  /** Kept until the client opens its GET stream; the oldest is dropped past OUTBOX_LIMIT. */
  protected keep(message: JSONRPCMessage): void {
    this.outbox.push(message);
    if (this.outbox.length > OUTBOX_LIMIT) this.outbox.shift();
  }

  protected send(message: JSONRPCMessage, relatedRequestId?: RequestId): void {
    if (this.closed || this.downstream.send(message, relatedRequestId)) return;
    // The client went away from that stream; the message has no one to reach.
    this.shell.logger.debug({ server: this.shell.serverName }, 'could not deliver a message to the client');
  }
}
