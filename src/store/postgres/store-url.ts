// The PostgreSQL store's URL, checked and shown without its password. Apart from the client (connection.ts),
// so that checking flags and writing logs load no PostgreSQL client on a SQLite server.

/** The URL of a PostgreSQL store, checked; the password never appears in the message. */
export function parsePostgresUrl(url: string): URL {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new Error('The store URL is not a URL: expected postgres://user:password@host:port/database');
  }
  if (parsed.protocol !== 'postgres:' && parsed.protocol !== 'postgresql:') {
    throw new Error(`The store URL's scheme is "${parsed.protocol}": expected postgres://user:password@host:port/database`);
  }
  if (!parsed.hostname) throw new Error(`The store URL ${redactPostgresUrl(url)} names no host: expected postgres://user:password@host:port/database`);
  return parsed;
}

/** The URL with its password replaced by "***", for logs and messages. */
export function redactPostgresUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '(unparsable URL)';
  }
}
