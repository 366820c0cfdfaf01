// What a periodic resync reconciles. Level-triggered repair of every key, every interval, costs a full
// reconcile per server (≈0.45 ms each: 22 s of CPU a minute at 50,000). Instead each resync:
//   1 compares the stored states of both stores (one query each, nothing decoded): a key in one store only
//     (an orphan entry, a missing one), an entry of another generation than its resource, or a resource whose
//     status was written for another generation is reconciled at once;
//   2 reconciles a slice of every key in full, in key order from where the previous slice ended, spread
//     over the interval: each key at least once every FULL_RESYNC_ROUNDS intervals (every interval up to
//     MIN_SLICE keys). That full pass finds what no stored state shows: an entry whose content was changed
//     behind an unchanged generation, a secret file that changed.
// planResync is pure; ResyncPlanner keeps the cursor between resyncs.
import type { EntrySyncState, ResourceSyncState } from '../store/index.js';

/** Every key is reconciled in full at least once in this many resync intervals. */
export const FULL_RESYNC_ROUNDS = 30;
/** Up to this many keys, every key is reconciled in full at every resync. */
export const MIN_SLICE = 500;

export interface ResyncPlan {
  /** Keys whose stored states differ: reconciled at once. */
  now: string[];
  /** Keys to reconcile in full, spread over the interval (none of `now`). */
  spread: string[];
  /** Where the next slice starts: after this key (undefined: at the first). */
  cursor: string | undefined;
}

export function planResync(
  resources: readonly ResourceSyncState[],
  entries: readonly EntrySyncState[],
  cursor: string | undefined,
  options: { rounds?: number; minSlice?: number } = {},
): ResyncPlan {
  const { now, keys } = compareStates(resources, entries);
  keys.sort();
  const size = Math.min(keys.length, Math.max(options.minSlice ?? MIN_SLICE, Math.ceil(keys.length / (options.rounds ?? FULL_RESYNC_ROUNDS))));
  if (size === 0) return { now, spread: [], cursor: undefined };
  // The first key after the cursor, wrapping around.
  let start = cursor === undefined ? 0 : lowerBound(keys, cursor);
  if (start < keys.length && keys[start] === cursor) start++;
  if (start >= keys.length) start = 0;
  const slice = size === keys.length ? [...keys.slice(start), ...keys.slice(0, start)] : [];
  if (slice.length === 0) for (let i = 0; i < size; i++) slice.push(keys[(start + i) % keys.length]!);
  const urgent = new Set(now);
  return { now, spread: slice.filter((k) => !urgent.has(k)), cursor: slice[slice.length - 1] };
}

/**
 * Every key of both stores (unsorted), and those whose stored states differ: in one store only (an orphan
 * entry, a missing one), an entry of another generation than its resource, or a status written for
 * another generation.
 */
export function compareStates(
  resources: readonly ResourceSyncState[],
  entries: readonly EntrySyncState[],
): { now: string[]; keys: string[] } {
  const entryGeneration = new Map(entries.map((e) => [e.fqn, e.generation]));
  const now: string[] = [];
  const keys: string[] = [];
  for (const r of resources) {
    keys.push(r.fqn);
    const generation = entryGeneration.get(r.fqn);
    entryGeneration.delete(r.fqn);
    if (generation !== r.generation || r.observedGeneration !== r.generation) now.push(r.fqn);
  }
  // What is left has no resource: an orphan entry, removed by its reconcile.
  for (const fqn of entryGeneration.keys()) {
    keys.push(fqn);
    now.push(fqn);
  }
  return { now, keys };
}

function lowerBound(sorted: readonly string[], key: string): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid]! < key) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Reads both stores' states and plans each resync, keeping the cursor of the full pass between them. */
export class ResyncPlanner {
  private cursor: string | undefined;

  constructor(
    private readonly read: () => Promise<{ resources: readonly ResourceSyncState[]; entries: readonly EntrySyncState[] }>,
    private readonly options: { rounds?: number; minSlice?: number } = {},
  ) {}

  async plan(): Promise<Pick<ResyncPlan, 'now' | 'spread'>> {
    const { resources, entries } = await this.read();
    const plan = planResync(resources, entries, this.cursor, this.options);
    this.cursor = plan.cursor;
    return plan;
  }

  /** The keys whose stored states differ now (a plan's `now`), leaving the full pass's cursor where it is. */
  async differing(): Promise<string[]> {
    const { resources, entries } = await this.read();
    return compareStates(resources, entries).now;
  }
}
