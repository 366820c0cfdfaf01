// What HTTP/1.1 allows in a message's head, and how long the upstream clients keep a connection: shared by
// the reused-read dispatcher (the requests it writes), its response parser (the answers it reads) and the
// discovery connection pool.

/** A token (RFC 9110 5.6.2): a method, a header name, a Connection option. */
export const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** A character no header value may hold (undici's and Node's test): field-vchar, SP, HTAB, obs-text allowed; nothing past U+00FF. */
export const BAD_VALUE_CHAR = /[^\t\x20-\x7e\x80-\xff]/;

/**
 * How long an idle upstream connection is kept, ms: below Node's HTTP server (5 s) and common proxies (60 s+),
 * so the client closes it before the server does and no request meets a closing socket.
 */
export const KEEP_ALIVE_IDLE_MS = 4000;
/** Connections to one origin at most, busy and idle. */
export const CONNECTIONS_PER_ORIGIN = 64;
