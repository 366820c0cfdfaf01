// On-demand discovery of one server (POST .../refresh): force a discovery, wait until a reconcile has
// written status from it, and say why when that takes longer than one discovery may.
import type { Clock } from '../domain/clock.js';
import { findCondition, READY } from '../domain/conditions.js';
import type { ResourceReader } from '../store/index.js';
import type { DiscoveryManager } from './discovery-manager.js';

export type RefreshAnswer =
  /** Status now describes a discovery that started after the request (or there is nothing to discover). */
  | { ok: true }
  /** The resource was deleted meanwhile. */
  | { ok: false; reason: 'NotFound'; message: string }
  | { ok: false; reason: 'Timeout'; message: string }
  /** The control plane is shutting down, or the caller went away. */
  | { ok: false; reason: 'Unavailable'; message: string };

export type RefreshServer = (fqn: string, signal?: AbortSignal) => Promise<RefreshAnswer>;

export interface RefreshServerOptions {
  discovery: DiscoveryManager;
  store: ResourceReader;
  clock: Clock;
  /** The budget of one discovery (--discovery-timeout). */
  discoveryTimeoutMs: number;
  /** Discoveries running at once, for the message when a refresh waited for a slot. */
  concurrency: number;
  /** Added to the discovery timeout for the reconcile after it and closing sockets. Default: half the timeout, 250 ms to 5 s. */
  marginMs?: number;
}

export function refreshMarginMs(discoveryTimeoutMs: number): number {
  return Math.min(Math.max(discoveryTimeoutMs / 2, 250), 5000);
}

export function createRefreshServer(options: RefreshServerOptions): RefreshServer {
  const { discovery, store, clock } = options;
  const waitMs = options.discoveryTimeoutMs + (options.marginMs ?? refreshMarginMs(options.discoveryTimeoutMs));

  return async function refreshServer(fqn, signal) {
    const timeout = new AbortController();
    const onCallerGone = () => timeout.abort();
    signal?.addEventListener('abort', onCallerGone, { once: true });
    let timedOut = false;
    const timer = clock.setTimeout(() => {
      timedOut = true;
      timeout.abort();
    }, waitMs);
    let end;
    try {
      end = await discovery.refresh(fqn, timeout.signal);
    } finally {
      clock.clearTimeout(timer);
      signal?.removeEventListener('abort', onCallerGone);
    }
    switch (end) {
      case 'reported':
        return { ok: true };
      case 'gone':
        return { ok: false, reason: 'NotFound', message: `MCP server ${fqn} was deleted while it was being refreshed.` };
      case 'stopped':
        return { ok: false, reason: 'Unavailable', message: 'The control plane is shutting down; try the refresh again.' };
      case 'aborted':
        if (!timedOut) return { ok: false, reason: 'Unavailable', message: 'The refresh was cancelled.' };
        return { ok: false, reason: 'Timeout', message: await timeoutMessage(fqn, waitMs) };
    }
  };

  async function timeoutMessage(fqn: string, waitedMs: number): Promise<string> {
    const activity = discovery.activity(fqn);
    let why: string;
    switch (activity.phase) {
      case 'queued':
        why = `it is waiting for a free discovery slot, behind ${activity.ahead} other discover${activity.ahead === 1 ? 'y' : 'ies'} (--discovery-concurrency is ${options.concurrency}); it will still run`;
        break;
      case 'running':
        why = `a discovery has been running for ${activity.forMs} ms (a discovery started before the refresh is let finish first; each may take up to --discovery-timeout ${options.discoveryTimeoutMs} ms); the status will show its result`;
        break;
      case 'idle':
        why = 'no discovery was started for it; see the Ready condition';
        break;
    }
    const ready = findCondition((await store.get(fqn))?.status.conditions ?? [], READY);
    const current = ready ? ` Ready is ${ready.status} (${ready.reason}): ${ready.message}` : '';
    return `The discovery of ${fqn} did not finish within ${waitedMs} ms: ${why}.${current}`;
  }
}
