// Resources by Ready status and by managing source, kept current from the changelog (no store scan per
// scrape). Seeded from one consistent read of the store's Ready statuses (no resource decoded), then
// every change replaces the entry of its resource. The counts a scrape reads are kept as entries change,
// so a scrape costs the same whatever the number of resources.
import { findCondition, READY } from '../domain/conditions.js';
import type { ConditionStatus, McpServerResource, SourceRef } from '../domain/resource.js';
import type { Change, ResourceReadiness } from '../store/index.js';
import { isPolicyFqn } from '../domain/policy.js';

export const READY_STATUSES: readonly ConditionStatus[] = ['True', 'False', 'Unknown'];

/** A metric label for the manager of a resource: "api", or the watched directory. Never user data. */
export function sourceLabel(source: SourceRef): string {
  return source.kind === 'api' ? 'api' : source.root;
}

interface Entry {
  ready: ConditionStatus;
  source: string;
}

export class ReadyTally {
  private readonly entries = new Map<string, Entry>();
  private readonly readyCounts: Record<ConditionStatus, number> = { True: 0, False: 0, Unknown: 0 };
  /** Source label → how many resources it manages (a label leaves when none is left). */
  private readonly sourceCounts = new Map<string, number>();

  seed(resources: readonly ResourceReadiness[]): void {
    this.entries.clear();
    this.sourceCounts.clear();
    for (const s of READY_STATUSES) this.readyCounts[s] = 0;
    for (const r of resources) this.set(r.fqn, { ready: r.ready ?? 'Unknown', source: sourceLabel(r.source) });
  }

  apply(changes: readonly Change[]): void {
    for (const c of changes) {
      // Admission policies are not servers (their changes share the changelog).
      if (isPolicyFqn(c.fqn)) continue;
      if (c.type === 'DELETED') this.set(c.fqn, undefined);
      else this.set(c.fqn, entryOf(c.object));
    }
  }

  /** The managing source of a resource, when it exists. */
  sourceOf(fqn: string): string | undefined {
    return this.entries.get(fqn)?.source;
  }

  /** Whether any resource is managed by this source now. */
  hasSource(source: string): boolean {
    return this.sourceCounts.has(source);
  }

  byReady(): Record<ConditionStatus, number> {
    return { ...this.readyCounts };
  }

  private set(fqn: string, entry: Entry | undefined): void {
    const before = this.entries.get(fqn);
    if (before) {
      this.readyCounts[before.ready]--;
      const left = (this.sourceCounts.get(before.source) ?? 1) - 1;
      if (left > 0) this.sourceCounts.set(before.source, left);
      else this.sourceCounts.delete(before.source);
    }
    if (!entry) {
      this.entries.delete(fqn);
      return;
    }
    this.entries.set(fqn, entry);
    this.readyCounts[entry.ready]++;
    this.sourceCounts.set(entry.source, (this.sourceCounts.get(entry.source) ?? 0) + 1);
  }
}

function entryOf(r: McpServerResource): Entry {
  return { ready: findCondition(r.status.conditions, READY)?.status ?? 'Unknown', source: sourceLabel(r.source) };
}
