// Which replica owns an MCP session, for a load balancer that sends a session's requests to any replica.
// A session lives in the process that opened it (its upstream session, its streams, its event log), so
// its id names that replica, and a replica that receives a request for a session it does not hold asks
// where it lives: another live replica (the request is forwarded there, streaming: session-forward.ts),
// or nowhere (404: the client starts a new session, as the MCP spec says). The caller's credential is
// never forwarded: the forwarding replica admits the caller and sends a credential of its own, addressed
// to the owner and bound to the session and the admitted principal, on which the owner admits the request.
// The data plane knows only this interface; src/cluster implements it over the replicas table.
import type { Principal } from '../../domain/principal.js';

export type SessionOwner = { kind: 'elsewhere'; id: string; url: string } | { kind: 'unknown' };

export interface SessionOwners {
  /** A new session id naming this replica as its owner (visible ASCII, as Mcp-Session-Id must be). */
  newSessionId(): string;
  /** Where a session this replica does not hold lives: another live replica's URL, or unknown (gone, or never was). */
  ownerOf(sessionId: string): Promise<SessionOwner>;
  /** This replica's id, sent with a forwarded request so the owner never forwards it again. */
  readonly selfId: string;
  /** The credential a forwarded request carries to owner `ownerId` (FORWARD_TOKEN_HEADER): for `sessionId`, on behalf of `principal`. */
  forwardCredential(ownerId: string, sessionId: string, principal: Principal): Promise<string>;
  /** The principal a forwarded request was admitted as, when `credential` is valid for this replica and `sessionId`; otherwise undefined. */
  admitForwarded(credential: string, sessionId: string): Promise<Principal | undefined>;
}

/** The header a forwarded request carries (the forwarding replica's id); a request with it is never forwarded again. */
export const FORWARDED_BY_HEADER = 'x-mcp-cp-forwarded-by';

/** The header carrying the forwarding replica's credential (forwardCredential) in place of the caller's. */
export const FORWARD_TOKEN_HEADER = 'x-mcp-cp-forward-token';
