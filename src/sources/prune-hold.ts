// When a file's servers may be pruned. A file that no longer declares some servers it held (removed,
// emptied, half-written, swapped out by a checkout) is held like a file with errors: it is not applied
// and its servers are kept, until it has read the same (the same bytes, or still gone) for the quiet
// period. The first read after that confirms the removal, and the file is applied and pruned. Pure.

export interface PruneHold {
  /** What the file read as when the hold began: its content hash, or null when it was gone. */
  content: string | null;
  /** When the file was first read as `content` (clock ms). */
  since: number;
  /** Servers the file held then and no longer declares, sorted. */
  dropped: string[];
}

export interface HoldInput {
  /** The file as just read: its content hash, or null when it is gone. */
  content: string | null;
  /** Servers the store holds for the file that no file of the batch declares (what a prune would delete). */
  dropped: readonly string[];
  /** The hold the previous read of this file left, if any. */
  previous: PruneHold | undefined;
  now: number;
  quietMs: number;
}

export type HoldDecision =
  /** Apply the file as read (and prune what it dropped). */
  | { kind: 'apply' }
  /** Keep everything the file held; read it again at `dueAt`. */
  | { kind: 'hold'; hold: PruneHold; dueAt: number };

export function decideHold(input: HoldInput): HoldDecision {
  if (input.dropped.length === 0 || input.quietMs <= 0) return { kind: 'apply' };
  const since = input.previous && input.previous.content === input.content ? input.previous.since : input.now;
  if (input.now - since >= input.quietMs) return { kind: 'apply' };
  return { kind: 'hold', hold: { content: input.content, since, dropped: [...input.dropped].sort() }, dueAt: since + input.quietMs };
}
