// A refresh (POST …/refresh) asked of a follower is carried out by the leader, which runs discovery, and
// answered on the follower. The follower has authorised the caller already (it answers 404 for a server
// the caller may not read); it asks the leader for that one refresh over HTTP at the leader's advertised
// URL, with an internal token (internal-token.ts) addressed to the leader: the caller's credential stays on
// the follower. The leader answers the RefreshAnswer its own refresh gave; the follower then answers from
// the shared store, as the leader would have.
//
// No leader known (an election under way), the leader unreachable, or a replica that is no longer the
// leader when the request arrives: Unavailable (503) with a generic reason, and nothing runs. The answer
// never names the leader's id or internal URL (any caller who may refresh a server reads it); the
// details go to the log. The follower waits
// at most `timeoutMs` for the leader (its refresh budget and a margin), then answers Timeout (504). A caller
// who goes away cancels the request to the leader, which cancels its refresh.
import type { RefreshAnswer, RefreshServer } from '../reconcile/refresh-server.js';
import type { Logger } from '../domain/logger.js';
import type { InternalTokens } from './internal-token.js';

/** Where the leader takes refreshes from the other replicas. */
export const INTERNAL_REFRESH_PATH = '/internal/cluster/v1/refresh';

export interface LeaderAddress {
  id: string;
  url: string;
}

export interface RefreshForwardingOptions {
  /** This replica's own refresh (it runs discovery: the leader's). */
  local: RefreshServer;
  selfId: string;
  isLeader(): boolean;
  /** The leader now and where it is reached; undefined when none holds the lease. */
  leader(): Promise<LeaderAddress | undefined>;
  tokens: InternalTokens;
  /** The longest the follower waits for the leader's answer. */
  timeoutMs: number;
  /** Where the leader's id, URL and the failure are told. */
  logger?: Logger;
}

export function forwardingRefreshServer(options: RefreshForwardingOptions): RefreshServer {
  return async function refreshServer(fqn, signal) {
    if (options.isLeader()) return options.local(fqn, signal);
    let leader: LeaderAddress | undefined;
    try {
      leader = await options.leader();
    } catch (err) {
      options.logger?.warn({ fqn, err: messageOf(err) }, 'refresh forwarding: the leader could not be looked up');
      return unavailable('The leader could not be looked up; the refresh did not run. Try again.');
    }
    if (!leader) return unavailable('No replica is the leader right now (an election is under way), so the refresh cannot run; try again within a few seconds.');
    if (leader.id === options.selfId) return unavailable('This replica is taking over as leader and is not running discovery yet; try the refresh again within a few seconds.');
    const token = await options.tokens.sign(leader.id, { action: 'refresh', target: fqn, from: options.selfId });
    const timeout = AbortSignal.timeout(options.timeoutMs);
    let res: Response;
    try {
      res = await fetch(new URL(INTERNAL_REFRESH_PATH, leader.url), {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ fqn }),
        signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
        redirect: 'error',
      });
    } catch (err) {
      if (signal?.aborted) return unavailable('The refresh was cancelled.');
      options.logger?.warn({ fqn, leader: leader.id, url: leader.url, err: messageOf(err), timedOut: timeout.aborted }, 'refresh forwarding: the leader did not answer');
      if (timeout.aborted) return { ok: false, reason: 'Timeout', message: `The leader did not answer the refresh within ${options.timeoutMs} ms.` };
      return unavailable('The leader could not be reached; the refresh did not run. A new leader is elected within the lease duration if it is gone; try again then.');
    }
    let body: unknown;
    try {
      body = await res.json();
    } catch (err) {
      if (signal?.aborted) return unavailable('The refresh was cancelled.');
      options.logger?.warn({ fqn, leader: leader.id, url: leader.url, status: res.status, err: messageOf(err) }, 'refresh forwarding: the leader answered without a JSON body');
      return unavailable(`The leader answered the refresh with ${res.status} and no usable body; the refresh may not have run. Try again.`);
    }
    if (res.ok && isRefreshAnswer(body)) return body;
    const message = (body as { error?: { message?: unknown } } | null)?.error?.message;
    options.logger?.warn({ fqn, leader: leader.id, url: leader.url, status: res.status, message }, 'refresh forwarding: the leader did not run the refresh');
    return unavailable(`The leader did not run the refresh (${res.status}); try again within a few seconds.`);
  };
}

function unavailable(message: string): RefreshAnswer {
  return { ok: false, reason: 'Unavailable', message };
}

function messageOf(err: unknown): string {
  const cause = (err as { cause?: { code?: unknown; message?: unknown } } | undefined)?.cause;
  if (cause && typeof cause.code === 'string') return cause.code;
  if (cause && typeof cause.message === 'string') return cause.message;
  return err instanceof Error ? err.message : String(err);
}

const REASONS = new Set(['NotFound', 'Timeout', 'Unavailable']);

function isRefreshAnswer(value: unknown): value is RefreshAnswer {
  const v = value as { ok?: unknown; reason?: unknown; message?: unknown } | null;
  if (typeof v !== 'object' || v === null) return false;
  if (v.ok === true) return true;
  return v.ok === false && typeof v.reason === 'string' && REASONS.has(v.reason) && typeof v.message === 'string';
}
