// Resources by Ready status and by managing source, kept current from the changelog (no store scan per
// scrape). Seeded from one consistent read of the store's Ready statuses (no resource decoded), then
// every change replaces the entry of its resource.
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

  seed(resources: readonly ResourceReadiness[]): void {
    this.entries.clear();
    for (const r of resources) this.entries.set(r.fqn, { ready: r.ready ?? 'Unknown', source: sourceLabel(r.source) });
  }

  apply(changes: readonly Change[]): void {
    for (const c of changes) {
      // Admission policies are not servers (their changes share the changelog).
      if (isPolicyFqn(c.fqn)) continue;
      if (c.type === 'DELETED') this.entries.delete(c.fqn);
      else this.entries.set(c.fqn, entryOf(c.object));
    }
  }

  /** The managing source of a resource, when it exists. */
  sourceOf(fqn: string): string | undefined {
    return this.entries.get(fqn)?.source;
  }

  byReady(): Record<ConditionStatus, number> {
    const counts: Record<ConditionStatus, number> = { True: 0, False: 0, Unknown: 0 };
    for (const e of this.entries.values()) counts[e.ready]++;
    return counts;
  }
}

function entryOf(r: McpServerResource): Entry {
  return { ready: findCondition(r.status.conditions, READY)?.status ?? 'Unknown', source: sourceLabel(r.source) };
}
