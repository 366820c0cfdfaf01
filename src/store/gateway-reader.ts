// The data plane's port: the gateway entries, read-only, and word of their changes.
import type { StoredGatewayEntry } from '../gateway/gateway-entry.js';
import type { EntrySyncState } from './types.js';

export interface GatewayReader {
  get(fqn: string): Promise<StoredGatewayEntry | undefined>;
  list(): Promise<StoredGatewayEntry[]>;
  keys(): Promise<string[]>;
  /** Every entry's fqn and generation, in one query: nothing is decoded or opened (resync compares them). */
  syncStates(): Promise<EntrySyncState[]>;
  /** How many entries are stored: a counter the database keeps, not a scan (metrics read it per scrape). */
  count(): Promise<number>;
  /**
   * Calls listener(fqn) after each write or delete made through this store object (synchronously, after
   * the commit: inside transaction(), when it commits). Answers the unsubscribe. A listener that throws
   * does not stop the others.
   */
  watch(listener: (fqn: string) => void): () => void;
  /**
   * Cheap to call, synchronous. Changes whenever another connection (another process) changed the stored
   * entries, as far as this object knows now (an engine that is told of other commits, such as
   * PostgreSQL's LISTEN, moves it when told); writes through this object are announced to watch()
   * listeners instead and do not change it.
   */
  externalRevision(): number;
}
