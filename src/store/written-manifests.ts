// The manifests a store was handed by its latest writes, each kept until its first read (the reconcile the
// write enqueued), so that read decodes and decrypts nothing: a KnownManifest (see GetOptions.known), used
// only while the stored spec still has its hash. At most `capacity` are kept (the oldest dropped first):
// the writes run ahead of their reads by the reconcile queue's length at most, and a dropped one is read
// from the row as before.
import type { McpServerManifest } from '../domain/manifest.js';
import type { KnownManifest } from './types.js';

export const WRITTEN_MANIFESTS_KEPT = 1024;

export class WrittenManifests {
  private readonly byFqn = new Map<string, KnownManifest>();

  constructor(private readonly capacity = WRITTEN_MANIFESTS_KEPT) {}

  /** After a write of `fqn` with this manifest and specHash (a rolled-back write's no longer matches the row's hash). */
  remember(fqn: string, specHash: string, manifest: McpServerManifest): void {
    this.byFqn.delete(fqn);
    this.byFqn.set(fqn, { specHash, manifest });
    if (this.byFqn.size > this.capacity) this.byFqn.delete(this.byFqn.keys().next().value!);
  }

  /** The manifest last written for `fqn`, handed once: a second read decodes the row. */
  take(fqn: string): KnownManifest | undefined {
    const known = this.byFqn.get(fqn);
    if (known) this.byFqn.delete(fqn);
    return known;
  }

  forget(fqn: string): void {
    this.byFqn.delete(fqn);
  }

  get size(): number {
    return this.byFqn.size;
  }
}
