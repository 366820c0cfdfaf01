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
  /** One read per fqn at a time; a change heard during it makes it read again before it answers. */
  private readonly reads = new Map<string, { answer: Promise<StoredGatewayEntry | undefined>; again: boolean }>();
  private readonly unwatch: () => void;
  private readonly poller: NodeJS.Timeout | undefined;
  private revision: number;
  private closed = false;

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

  /** The cached entry, at once; undefined when it is not cached (get reads it). */
  cached(fqn: string): StoredGatewayEntry | undefined {
    return this.cache.get(fqn);
  }

  /** The entry: cached, or read from the store (and cached). Concurrent misses share one read. */
  get(fqn: string): Promise<StoredGatewayEntry | undefined> {
    const cached = this.cache.get(fqn);
    if (cached) return Promise.resolve(cached);
    return this.read(fqn);
  }

  /** Looks for writes by other connections now (the poller calls it too). */
  poll(): void {
    const revision = this.store.externalRevision();
    if (revision === this.revision) return;
    this.revision = revision;
    for (const fqn of [...this.cache.keys()]) this.refresh(fqn);
  }

  close(): void {
    this.closed = true;
    this.unwatch();
    if (this.poller) clearInterval(this.poller);
    this.cache.clear();
  }

  private refresh(fqn: string): void {
    const reading = this.reads.get(fqn);
    if (reading) {
      reading.again = true;
      return;
    }
    // An entry nobody asked for has no session to tell and is read when first asked: a sync writing
    // thousands of entries neither reads them back nor keeps a copy of each.
    if (!this.cache.has(fqn)) return;
    // A failed read drops the entry from the cache (read again when next asked), and is not the caller's.
    this.read(fqn).catch(() => this.cache.delete(fqn));
  }

  /**
   * Reads fqn (again, while a change was heard during the read) and updates the cache with what it read
   * last: one answer per read, so two concurrent misses neither read twice nor announce the entry.
   */
  private read(fqn: string): Promise<StoredGatewayEntry | undefined> {
    const pending = this.reads.get(fqn);
    if (pending) return pending.answer;
    const reading = { answer: undefined as unknown as Promise<StoredGatewayEntry | undefined>, again: false };
    reading.answer = (async () => {
      try {
        let entry: StoredGatewayEntry | undefined;
        do {
          reading.again = false;
          entry = await this.store.get(fqn);
        } while (reading.again && !this.closed);
        if (!this.closed) this.update(fqn, entry);
        return entry;
      } finally {
        this.reads.delete(fqn);
      }
    })();
    this.reads.set(fqn, reading);
    return reading.answer;
  }

  /** A first sight of an entry is cached silently; a change of a cached one is announced. */
  private update(fqn: string, entry: StoredGatewayEntry | undefined): void {
    const before = this.cache.get(fqn);
    if (entry) this.cache.set(fqn, entry);
    else this.cache.delete(fqn);
    if (!before) return;
    // configHash covers every field, so an equal hash means nothing a session depends on changed.
    if (before.configHash === entry?.configHash) return;
    this.onChange(fqn, entry);
  }
}
