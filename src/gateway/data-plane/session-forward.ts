// Forwards one HTTP request of an MCP session to the replica that owns it, as bytes: the body streams to
// the owner as it arrives and the answer (JSON, or an event stream that stays open) streams back as it
// comes, headers and status as the owner sent them. The caller's headers go with it but for hop-by-hop ones
// and its credentials (Authorization, Cookie): no credential the control plane accepts leaves it, and the
// advertised URL may be plain http or, for a stale row, someone else's address. In their place go
// FORWARDED_BY_HEADER (so the owner never forwards it again) and FORWARD_TOKEN_HEADER, the forwarding
// replica's credential on which the owner admits the request. Either side closing ends the other.
//
// An owner that cannot be reached (refused, reset before answering, no connection within
// `connectTimeoutMs`) has gone since its last heartbeat: the session is gone with it, and the answer is the
// 404 a missing session gets, so the client starts a new one.
import { request, type IncomingMessage, type ServerResponse } from 'node:http';
import { endToEndHeaders } from '../../domain/hop-by-hop.js';
import { FORWARD_TOKEN_HEADER, FORWARDED_BY_HEADER } from './session-owners.js';

/** Host describes one connection, not the request (as the hop-by-hop headers do). */
const HOST_ONLY = new Set(['host']);
/** Host, the caller's credentials and the cluster's own headers (set here, never taken from the caller). */
const NOT_FORWARDED = new Set(['host', 'authorization', 'cookie', FORWARDED_BY_HEADER, FORWARD_TOKEN_HEADER]);
const DEFAULT_CONNECT_TIMEOUT_MS = 2_000;

export interface ForwardOptions {
  /** The owner's URL of this same request: its advertised URL + /mcp/<name> + the query. */
  target: URL;
  selfId: string;
  /** The forwarding replica's credential for the owner (SessionOwners.forwardCredential). */
  credential: string;
  /** The longest the connection to the owner may take to open (default 2 s); then the owner counts as gone. */
  connectTimeoutMs?: number;
  /** Answers the request when the owner could not be reached (the session's 404). */
  ownerGone: (res: ServerResponse) => void;
  /** The owner could not be reached, or the exchange broke (for logs). */
  onError?: (error: Error) => void;
}

export function forwardSessionRequest(req: IncomingMessage, res: ServerResponse, options: ForwardOptions): void {
  const headers = endToEndHeaders(req.headers, NOT_FORWARDED);
  headers[FORWARDED_BY_HEADER] = options.selfId;
  headers[FORWARD_TOKEN_HEADER] = options.credential;
  const outgoing = request(options.target, { method: req.method ?? 'GET', headers });
  const connectTimeoutMs = options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
  const connectTimer = setTimeout(() => outgoing.destroy(new Error(`no connection to the owner within ${connectTimeoutMs} ms`)), connectTimeoutMs);
  connectTimer.unref();
  outgoing.on('socket', (socket) => {
    if (!socket.connecting) clearTimeout(connectTimer);
    else socket.once('connect', () => clearTimeout(connectTimer));
  });
  outgoing.on('close', () => clearTimeout(connectTimer));
  let answered = false;
  outgoing.on('response', (answer) => {
    answered = true;
    res.writeHead(answer.statusCode ?? 502, answer.statusMessage, endToEndHeaders(answer.headers, HOST_ONLY));
    // An event stream's events reach the client as they arrive.
    res.flushHeaders();
    answer.pipe(res);
    answer.on('error', (error) => {
      options.onError?.(error);
      res.destroy();
    });
  });
  outgoing.on('error', (error) => {
    options.onError?.(error);
    if (answered || res.headersSent) return void res.destroy();
    options.ownerGone(res);
  });
  // The client went away: so does the request to the owner (its stream, its wait).
  res.on('close', () => {
    if (!res.writableFinished) outgoing.destroy();
  });
  req.pipe(outgoing);
}
