// Which replica owns an MCP session, for a load balancer that sends a session's requests to any replica.
// A session lives in the process that opened it (its upstream session, its streams, its event log), so
// its id names that replica, and a replica that receives a request for a session it does not hold asks
// where it lives: another live replica (the request is forwarded there, streaming: session-forward.ts),
// or nowhere (404: the client starts a new session, as the MCP spec says). The data plane knows only this
// interface; src/cluster implements it over the replicas table.
export type SessionOwner = { kind: 'elsewhere'; url: string } | { kind: 'unknown' };

export interface SessionOwners {
  /** A new session id naming this replica as its owner (visible ASCII, as Mcp-Session-Id must be). */
  newSessionId(): string;
  /** Where a session this replica does not hold lives: another live replica's URL, or unknown (gone, or never was). */
  ownerOf(sessionId: string): Promise<SessionOwner>;
  /** This replica's id, sent with a forwarded request so the owner never forwards it again. */
  readonly selfId: string;
}

/** The header a forwarded request carries (the forwarding replica's id); a request with it is never forwarded again. */
export const FORWARDED_BY_HEADER = 'x-mcp-cp-forwarded-by';
