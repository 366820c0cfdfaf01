// When a server of each managing source last reconciled successfully, kept per source (a scrape reads one
// entry per source, not one per server). A reconcile's outcome names only its key: the keys that
// succeeded since the last scrape wait, newest time per key, and the scrape asks the store for their
// sources in one read (as many keys as reconciled since, never every server). A key the store no longer
// has (deleted) is dropped; so is a source that manages no server any more.
import { isPolicyFqn } from '../domain/policy.js';
import type { SourceRef } from '../domain/resource.js';

/** A metric label for the manager of a resource: "api", or the watched directory. Never user data. */
export function sourceLabel(source: SourceRef): string {
  return source.kind === 'api' ? 'api' : source.root;
}

/** Keys whose sources one store read asks for. */
const KEYS_PER_READ = 500;

export type SourcesOf = (fqns: readonly string[]) => Promise<ReadonlyMap<string, SourceRef>>;

export class LastSuccessBySource {
  private readonly newest = new Map<string, number>();
  /** Key → when it last succeeded, since the last scrape. */
  private readonly pending = new Map<string, number>();

  succeeded(key: string, at: number): void {
    // Admission policies are not servers.
    if (isPolicyFqn(key)) return;
    this.pending.set(key, at);
  }

  /** Source → newest success, for the sources in `managing` (those that manage servers now). */
  async bySource(sourcesOf: SourcesOf, managing: ReadonlySet<string>): Promise<Map<string, number>> {
    const taken = [...this.pending];
    this.pending.clear();
    try {
      for (let i = 0; i < taken.length; i += KEYS_PER_READ) {
        const part = taken.slice(i, i + KEYS_PER_READ);
        const sources = await sourcesOf(part.map(([key]) => key));
        for (const [key, at] of part) {
          const source = sources.get(key);
          if (source === undefined) continue;
          const label = sourceLabel(source);
          this.newest.set(label, Math.max(this.newest.get(label) ?? 0, at));
        }
      }
    } catch (err) {
      // Asked again at the next scrape (a newer success of a key since stands).
      for (const [key, at] of taken) this.pending.set(key, Math.max(this.pending.get(key) ?? 0, at));
      throw err;
    }
    for (const source of [...this.newest.keys()]) if (!managing.has(source)) this.newest.delete(source);
    return this.newest;
  }
}
