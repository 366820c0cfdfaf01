// A caller's OAuth token refused by the upstream in the middle of a gateway session (HTTP 401 to a
// message): the token is refreshed once (oauth-connections.ts shares one refresh among concurrent
// callers) and the message sent again with the new one, which every later message of the session
// carries too. When no new token comes, the message fails with CallerMustConnect: the session answers
// the request with the same JSON-RPC error a caller who has not connected gets when opening a session.
import { StreamableHTTPError } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import type { CallerCredentials, CredentialsRefusal } from '../../credentials/caller-credentials.js';
import type { GatewayEntry } from '../gateway-entry.js';
import { upstreamHeaders } from './upstream.js';
import type { HttpUpstreamTransport } from './upstream-http.js';

/** The code of the JSON-RPC error a caller without usable credentials gets. */
export const CREDENTIALS_REQUIRED = -32040;

/** A message the upstream refused the caller's credentials for, and they could not be renewed. */
export class CallerMustConnect extends Error {
  constructor(readonly refusal: CredentialsRefusal) {
    super(refusal.message);
  }

  /** The JSON-RPC error answering the request. */
  get rpcError(): { code: number; message: string; data: CredentialsRefusal['data'] } {
    return { code: CREDENTIALS_REQUIRED, message: this.refusal.message, data: this.refusal.data };
  }
}

/**
 * Makes `transport` (an upstream session opened with `token` for `subject`) refresh the caller's token
 * once when a message is refused with HTTP 401, and send that message again with the new token: every
 * message, whether sent or relayed.
 */
export function refreshTokenOnRejection(
  transport: HttpUpstreamTransport,
  entry: GatewayEntry,
  subject: string,
  token: string,
  credentials: Pick<CallerCredentials, 'afterRejection'>,
): void {
  let current = token;
  const send = transport.send.bind(transport);
  transport.send = async (message: JSONRPCMessage) => {
    // The token this message goes with: a refresh another message made meanwhile is not made again.
    const sentWith = current;
    try {
      return await send(message);
    } catch (error) {
      if (!(error instanceof StreamableHTTPError && error.code === 401)) throw error;
      const renewed = await credentials.afterRejection(entry, subject, sentWith);
      if ('refusal' in renewed) throw new CallerMustConnect(renewed.refusal);
      if (renewed.token !== undefined && renewed.token !== current) {
        current = renewed.token;
        transport.setHeaders(upstreamHeaders(renewed.entry, undefined));
      }
      return send(message);
    }
  };
  // A relayed request goes through the refresh too (relay() is send() without a promise).
  transport.relay = (message, onFailed) => void transport.send(message).catch(onFailed);
}
