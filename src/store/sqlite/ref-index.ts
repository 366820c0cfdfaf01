// The store's in-memory index of ResourceRefs: by fqn, and, for resources a file manages, by watched
// directory → name and directory → file → name. It mirrors the resources table; SqliteResourceStore
// keeps it in step with every write, and a rollback undoes the index's changes too (journal/rollback),
// so a refused file in a batch does not cost a reload of every row.
import type { SourceRef } from '../../domain/resource.js';
import type { ResourceRef } from '../types.js';

export function refOf(fqn: string, id: string, tenant: string, name: string, generation: number, source: SourceRef): ResourceRef {
  return Object.freeze({ fqn, id, tenant, name, generation, source: frozenCopy(source) });
}

/**
 * A frozen copy built member by member: V8 gives a frozen spread copy (`Object.freeze({ ...x })`) a hidden
 * class of its own (326 against 161 B per ref in the index, test/store/ref-index-memory.test.ts); copies built so share one.
 */
function frozenCopy<T extends object>(value: T): Readonly<T> {
  const copy: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) copy[k] = v;
  return Object.freeze(copy) as Readonly<T>;
}

const rootKey = (tenant: string, root: string) => `${tenant}\u0000${root}`;

interface RootRefs {
  byName: Map<string, ResourceRef>;
  byPath: Map<string, Map<string, ResourceRef>>;
}

export class RefIndex {
  private readonly byFqn = new Map<string, ResourceRef>();
  private readonly byRoot = new Map<string, RootRefs>();

  /** How to undo each change since the outermost open transaction began. */
  private readonly undo: (() => void)[] = [];

  constructor(refs: Iterable<ResourceRef>) {
    for (const ref of refs) this.put(ref);
  }

  set(ref: ResourceRef): void {
    const old = this.byFqn.get(ref.fqn);
    this.put(ref);
    this.undo.push(old ? () => this.put(old) : () => this.remove(ref.fqn));
  }

  delete(fqn: string): void {
    const old = this.byFqn.get(fqn);
    if (!old) return;
    this.remove(fqn);
    this.undo.push(() => this.put(old));
  }

  /** A mark to roll back to. */
  journal(): number {
    return this.undo.length;
  }

  /** Undoes the changes made since journal() answered mark (a savepoint or transaction rolled back). */
  rollback(mark: number): void {
    while (this.undo.length > mark) (this.undo.pop() as () => void)();
  }

  /** The outermost transaction ended: its changes can no longer be undone. */
  settle(): void {
    this.undo.length = 0;
  }

  private put(ref: ResourceRef): void {
    this.remove(ref.fqn);
    this.byFqn.set(ref.fqn, ref);
    if (ref.source.kind !== 'file') return;
    const root = this.root(ref.tenant, ref.source.root);
    root.byName.set(ref.name, ref);
    let names = root.byPath.get(ref.source.path);
    if (!names) root.byPath.set(ref.source.path, (names = new Map()));
    names.set(ref.name, ref);
  }

  private remove(fqn: string): void {
    const old = this.byFqn.get(fqn);
    if (!old) return;
    this.byFqn.delete(fqn);
    if (old.source.kind !== 'file') return;
    const root = this.root(old.tenant, old.source.root);
    root.byName.delete(old.name);
    const names = root.byPath.get(old.source.path);
    names?.delete(old.name);
    if (names?.size === 0) root.byPath.delete(old.source.path);
  }

  ofTenant(tenant: string): ResourceRef[] {
    const out: ResourceRef[] = [];
    for (const ref of this.byFqn.values()) if (ref.tenant === tenant) out.push(ref);
    return out;
  }

  /** Live: it changes with every later write (and an empty directory answers an empty map). */
  ofRoot(tenant: string, root: string): ReadonlyMap<string, ResourceRef> {
    return this.root(tenant, root).byName;
  }

  /** A new array. */
  ofPath(tenant: string, root: string, path: string): ResourceRef[] {
    return [...(this.root(tenant, root).byPath.get(path)?.values() ?? [])];
  }

  private root(tenant: string, root: string): RootRefs {
    const key = rootKey(tenant, root);
    let refs = this.byRoot.get(key);
    if (!refs) this.byRoot.set(key, (refs = { byName: new Map(), byPath: new Map() }));
    return refs;
  }
}
