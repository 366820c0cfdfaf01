// Identical JSON values held once: a fleet whose servers run the same software reports the same tool
// list (and the same schemas, capabilities, server info) once per server; interned, every discovery
// record holding an equal value holds the same object.
//
// Contract: intern(text, make) answers the value held for that JSON text (key order included), or else
// the value make() builds, deep-frozen, which is held from then on. Values are
// keyed by the SHA-256 of their JSON text (a value an upstream crafted cannot pass for another server's)
// and held weakly: an interned value nobody else holds is collected, and its entry goes with it. An
// interned value is shared by every holder: it is frozen so that no holder can change another's copy.
import { createHash } from 'node:crypto';

export class JsonInterner {
  private readonly byHash = new Map<string, WeakRef<object>>();
  private readonly registry = new FinalizationRegistry<string>((hash) => {
    // The entry may hold a newer value of the same content by now.
    if (this.byHash.get(hash)?.deref() === undefined) this.byHash.delete(hash);
  });

  /**
   * The held value whose JSON text is `text`, or else the value `make()` answers (which must have that
   * text), frozen and held from then on. `make` runs only on a miss, so a hit allocates nothing.
   */
  intern<T extends object>(text: string, make: () => T): T {
    const hash = createHash('sha256').update(text).digest('base64');
    const held = this.byHash.get(hash)?.deref();
    if (held) return held as T;
    const value = make();
    deepFreeze(value);
    this.byHash.set(hash, new WeakRef(value));
    this.registry.register(value, hash);
    return value;
  }

  /** Distinct values held (collected ones may still count until their entry is dropped). */
  get size(): number {
    return this.byHash.size;
  }
}

function deepFreeze(value: unknown): void {
  if (typeof value !== 'object' || value === null || Object.isFrozen(value)) return;
  Object.freeze(value);
  for (const v of Object.values(value)) deepFreeze(v);
}
