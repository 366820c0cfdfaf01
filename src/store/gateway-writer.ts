// The reconciler's port to the gateway entries: the only writer of them.
import type { GatewayEntry, StoredGatewayEntry } from '../gateway/gateway-entry.js';
import type { Transactions } from './transactions.js';

export interface GatewayWriter extends Transactions {
  /**
   * Writes the entry unless the stored one has the same content; answers whether it wrote. `known`: the
   * caller's gatewayEntryHash of `entry` (with this store's key) and the stored entry it just read, so
   * neither is read or computed again. A compare-and-swap on that read: when the stored entry is no longer
   * the one read (changed, removed, or present where none was), it throws WriteConflictError and writes
   * nothing, so a caller that decides from what it read (drift, say) reads again. On PostgreSQL any writer
   * may come between (an out-of-band edit takes no writer lock); on SQLite a unit's read and write are one
   * transaction of the one writer.
   */
  apply(entry: GatewayEntry, known?: { hash: string; current: StoredGatewayEntry | undefined }): Promise<boolean>;
  /** Answers whether there was an entry. */
  delete(fqn: string): Promise<boolean>;
}
