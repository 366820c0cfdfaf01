// The store's in-memory index of ResourceRefs: by fqn, and by (tenant, watched directory) → name for
// resources a file manages. It mirrors the resources table; SqliteResourceStore keeps it in step with
// every write and drops it when a transaction rolls back.
import type { SourceRef } from '../domain/resource.js';
import type { ResourceRef } from './resource-store.js';

export function refOf(fqn: string, id: string, tenant: string, name: string, generation: number, source: SourceRef): ResourceRef {
  return Object.freeze({ fqn, id, tenant, name, generation, source: Object.freeze({ ...source }) });
}

const rootKey = (tenant: string, root: string) => `${tenant}\u0000${root}`;

export class RefIndex {
  private readonly byFqn = new Map<string, ResourceRef>();
  private readonly byRoot = new Map<string, Map<string, ResourceRef>>();

  constructor(refs: Iterable<ResourceRef>) {
    for (const ref of refs) this.set(ref);
  }

  set(ref: ResourceRef): void {
    this.delete(ref.fqn);
    this.byFqn.set(ref.fqn, ref);
    if (ref.source.kind === 'file') {
      const key = rootKey(ref.tenant, ref.source.root);
      let names = this.byRoot.get(key);
      if (!names) this.byRoot.set(key, (names = new Map()));
      names.set(ref.name, ref);
    }
  }

  delete(fqn: string): void {
    const old = this.byFqn.get(fqn);
    if (!old) return;
    this.byFqn.delete(fqn);
    if (old.source.kind === 'file') {
      const key = rootKey(old.tenant, old.source.root);
      const names = this.byRoot.get(key);
      names?.delete(old.name);
    }
  }

  ofTenant(tenant: string): ResourceRef[] {
    const out: ResourceRef[] = [];
    for (const ref of this.byFqn.values()) if (ref.tenant === tenant) out.push(ref);
    return out;
  }

  /** Live: it changes with every later write (and an empty directory answers an empty map). */
  ofRoot(tenant: string, root: string): ReadonlyMap<string, ResourceRef> {
    const key = rootKey(tenant, root);
    let names = this.byRoot.get(key);
    if (!names) this.byRoot.set(key, (names = new Map()));
    return names;
  }
}
