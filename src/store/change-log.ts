// The changelog, keyed by the global resourceVersion: what the watch feed and metrics follow.
import type { Change } from './types.js';

export interface ChangeLog {
  currentResourceVersion(): Promise<number>;
  changesSince(resourceVersion: number, limit: number): Promise<Change[]>;
  /**
   * Calls listener after each write through this object commits (a unit's writes once it committed, none
   * of one that rolled back; a listener reads later, never from the call), and, on an engine shared by several
   * processes, after another process's commit comes to its notice. Answers the unsubscribe. A listener
   * must not throw. (The watch feed wakes on it instead of waiting for a poll.)
   */
  onWrite(listener: () => void): () => void;
  /**
   * Runs fn so that its reads of this store see one moment: the resourceVersion and the objects at it (a
   * watch's snapshot). On SQLite a unit of work; on PostgreSQL a REPEATABLE READ READ ONLY transaction that
   * holds up no writer. fn awaits only reads of this store.
   */
  snapshot<T>(fn: () => Promise<T>): Promise<T>;
  /** The oldest resourceVersion a watch can still resume from. */
  oldestRetainedResourceVersion(): Promise<number>;
}
