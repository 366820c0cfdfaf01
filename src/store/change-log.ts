// The changelog, keyed by the global resourceVersion: what the watch feed and metrics follow.
import type { Change } from './types.js';

export interface ChangeLog {
  currentResourceVersion(): number;
  changesSince(resourceVersion: number, limit: number): Change[];
  /**
   * Calls listener after each write through this object, synchronously: possibly inside an outer
   * transaction() that has yet to commit, so a listener reads later, never from the call. Answers the
   * unsubscribe. A listener must not throw. (The watch feed wakes on it instead of waiting for a poll.)
   */
  onWrite(listener: () => void): () => void;
  /** The oldest resourceVersion a watch can still resume from. */
  oldestRetainedResourceVersion(): number;
}
