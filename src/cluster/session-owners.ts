// MCP session ownership over the replicas table (see src/gateway/data-plane/session-owners.ts for the
// contract): a session id is `<base64url(replica id)>.<random UUID>`, so any replica can tell which one
// opened it, and the replicas table says whether that replica is live and where it is reached.
//
// The live replicas are read at most once per `maxAgeMs` (1 s) for ids it knows, and again at most once per
// `minRefreshMs` (250 ms) for an owner it does not know (a replica started since): a stream of made-up
// session ids costs at most four reads a second, and reads in flight are shared.
//
// A forwarded request carries an internal token (internal-token.ts: addressed to the owner, action
// "mcp-session", target the session id, the principal the forwarding replica admitted, used once).
import { randomUUID } from 'node:crypto';
import { systemClock, type Clock } from '../domain/clock.js';
import type { Principal } from '../domain/principal.js';
import type { SessionOwner, SessionOwners } from '../gateway/data-plane/session-owners.js';
import type { InternalTokens } from './internal-token.js';

const SESSION_ACTION = 'mcp-session';

export interface LiveReplica {
  id: string;
  url: string;
  live: boolean;
}

export interface ReplicaSessionOwnersOptions {
  selfId: string;
  /** Every replica with its URL and whether it is live (listReplicas over the replicas table). */
  replicas(): Promise<readonly LiveReplica[]>;
  /** Signs and checks the credential of forwarded requests (the same secret key on every replica). */
  tokens: InternalTokens;
  clock?: Clock;
  maxAgeMs?: number;
  minRefreshMs?: number;
}

/** Longer than any id this replica makes; a longer one is nobody's. */
const MAX_SESSION_ID_LENGTH = 512;

export class ReplicaSessionOwners implements SessionOwners {
  readonly selfId: string;
  private readonly prefix: string;
  private readonly clock: Clock;
  private readonly maxAgeMs: number;
  private readonly minRefreshMs: number;
  private known: { at: number; byId: Map<string, LiveReplica> } | undefined;
  private reading: Promise<Map<string, LiveReplica>> | undefined;

  constructor(private readonly options: ReplicaSessionOwnersOptions) {
    this.selfId = options.selfId;
    this.prefix = `${Buffer.from(options.selfId, 'utf8').toString('base64url')}.`;
    this.clock = options.clock ?? systemClock;
    this.maxAgeMs = options.maxAgeMs ?? 1000;
    this.minRefreshMs = options.minRefreshMs ?? 250;
  }

  newSessionId(): string {
    return `${this.prefix}${randomUUID()}`;
  }

  async ownerOf(sessionId: string): Promise<SessionOwner> {
    const dot = sessionId.indexOf('.');
    if (dot <= 0 || sessionId.length > MAX_SESSION_ID_LENGTH) return { kind: 'unknown' };
    const owner = Buffer.from(sessionId.slice(0, dot), 'base64url').toString('utf8');
    // This replica's own session, not held here: it ended (or this is a new process under the same id).
    if (owner === this.selfId) return { kind: 'unknown' };
    const age = this.known ? this.clock.now() - this.known.at : Infinity;
    let replica = age < this.maxAgeMs ? this.known!.byId.get(owner) : undefined;
    if (!replica && age >= this.minRefreshMs) replica = (await this.read()).get(owner);
    return replica?.live ? { kind: 'elsewhere', id: replica.id, url: replica.url } : { kind: 'unknown' };
  }

  forwardCredential(ownerId: string, sessionId: string, principal: Principal): Promise<string> {
    return this.options.tokens.sign(ownerId, { action: SESSION_ACTION, target: sessionId, from: this.selfId, principal });
  }

  async admitForwarded(credential: string, sessionId: string): Promise<Principal | undefined> {
    const claims = await this.options.tokens.verify(credential, this.selfId);
    return claims?.action === SESSION_ACTION && claims.target === sessionId ? claims.principal : undefined;
  }

  private read(): Promise<Map<string, LiveReplica>> {
    this.reading ??= this.options
      .replicas()
      .then((list) => {
        const byId = new Map(list.map((r) => [r.id, r]));
        this.known = { at: this.clock.now(), byId };
        return byId;
      })
      .finally(() => {
        this.reading = undefined;
      });
    return this.reading;
  }
}
