// A fetch with its own TLS trust for one server. Process-wide TLS (NODE_TLS_REJECT_UNAUTHORIZED, the
// global dispatcher) is never touched, so one server's `reject_unauthorized: false` cannot leak to another.
import { Agent, fetch as undiciFetch } from 'undici';
import type { FetchLike, TlsOptions } from './types.js';

/** A FetchLike that owns an undici Agent; close() destroys its sockets. */
export type ServerFetch = FetchLike & { close(): Promise<void> };

export function createServerFetch(tls: TlsOptions): ServerFetch {
  const agent = new Agent({
    connect: {
      rejectUnauthorized: tls.rejectUnauthorized,
      ...(tls.caCert ? { ca: tls.caCert } : {}),
    },
  });
  let closed = false;
  const serverFetch = ((url: string | URL, init?: RequestInit) =>
    // undici's fetch has its own (structurally equal) RequestInit/Response types.
    undiciFetch(url, { ...(init as object), dispatcher: agent } as Parameters<typeof undiciFetch>[1]) as unknown as Promise<Response>) as ServerFetch;
  serverFetch.close = async () => {
    if (closed) return;
    closed = true;
    // destroy, not close: discovery is over, in-flight streams (SSE GETs) must not keep sockets open.
    await agent.destroy().catch(() => undefined);
  };
  return serverFetch;
}
