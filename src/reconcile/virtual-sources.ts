// Which virtual servers reference which sources: source fqn → the virtual servers that list it. Filled
// by reconciling each virtual server (a restart's first sync fills it again), read after every reconcile
// of a source so its virtual servers follow it, level-triggered. In memory; one writer (the reconciler).
export class VirtualSourceIndex {
  private readonly bySource = new Map<string, Set<string>>();
  private readonly byVirtual = new Map<string, readonly string[]>();

  /** The virtual server `virtualFqn` references exactly these sources now. */
  set(virtualFqn: string, sourceFqns: readonly string[]): void {
    this.remove(virtualFqn);
    this.byVirtual.set(virtualFqn, sourceFqns);
    for (const source of sourceFqns) {
      let set = this.bySource.get(source);
      if (!set) this.bySource.set(source, (set = new Set()));
      set.add(virtualFqn);
    }
  }

  /** `fqn` is no virtual server (any more). */
  remove(fqn: string): void {
    const sources = this.byVirtual.get(fqn);
    if (!sources) return;
    this.byVirtual.delete(fqn);
    for (const source of sources) {
      const set = this.bySource.get(source);
      set?.delete(fqn);
      if (set?.size === 0) this.bySource.delete(source);
    }
  }

  /** The virtual servers that reference `sourceFqn`. */
  dependents(sourceFqn: string): string[] {
    return [...(this.bySource.get(sourceFqn) ?? [])];
  }
}
