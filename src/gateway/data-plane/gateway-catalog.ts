// The data plane's read-through view of the gateway store: entries cached by fqn once asked for, and
// one event per cached entry whose content changed (only those can have sessions). Writes through the
// same store object are seen at once (watch()); writes by another process are found by polling the
// store's external revision, so the data plane can run next to a copy of the gateway store without a
// restart.
import type { GatewayReader } from '../../store/gateway-reader.js';
import type { StoredGatewayEntry } from '../gateway-entry.js';

export interface GatewayCatalogOptions {
  store: GatewayReader;
  /** Called with the fqn of each entry that was created, changed or deleted. */
  onChange: (fqn: string, entry: StoredGatewayEntry | undefined) => void;
  /** How often to look for writes by other processes; 0 turns polling off. Default 1000. */
  pollIntervalMs?: number;
}

export class GatewayCatalog {
  private readonly store: GatewayReader;
  private readonly onChange: GatewayCatalogOptions['onChange'];
  /** Present entries only: misses are not cached, so unknown names cannot grow it. */
  private readonly cache = new Map<string, StoredGatewayEntry>();
  private readonly unwatch: () => void;
  private readonly poller: NodeJS.Timeout | undefined;
  private revision: number;

  constructor(options: GatewayCatalogOptions) {
    this.store = options.store;
    this.onChange = options.onChange;
    this.revision = this.store.externalRevision();
    this.unwatch = this.store.watch((fqn) => this.refresh(fqn));
    const interval = options.pollIntervalMs ?? 1000;
    if (interval > 0) {
      this.poller = setInterval(() => this.poll(), interval);
      this.poller.unref();
    }
  }

  get(fqn: string): StoredGatewayEntry | undefined {
    const cached = this.cache.get(fqn);
    if (cached) return cached;
    const entry = this.store.get(fqn);
    if (entry) this.cache.set(fqn, entry);
    return entry;
  }

  /** Looks for writes by other connections now (the poller calls it too). */
  poll(): void {
    const revision = this.store.externalRevision();
    if (revision === this.revision) return;
    this.revision = revision;
    for (const fqn of [...this.cache.keys()]) this.refresh(fqn);
  }

  close(): void {
    this.unwatch();
    if (this.poller) clearInterval(this.poller);
    this.cache.clear();
  }

  private refresh(fqn: string): void {
    // An entry nobody asked for has no session to tell and is read when first asked: a sync writing
    // thousands of entries neither reads them back nor keeps a copy of each.
    if (!this.cache.has(fqn)) return;
    this.update(fqn, this.store.get(fqn));
  }

  private update(fqn: string, entry: StoredGatewayEntry | undefined): void {
    const before = this.cache.get(fqn);
    if (entry) this.cache.set(fqn, entry);
    else this.cache.delete(fqn);
    // configHash covers every field, so an equal hash means nothing a session depends on changed.
    if (before?.configHash === entry?.configHash) return;
    this.onChange(fqn, entry);
  }
}
