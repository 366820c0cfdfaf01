// How a revision looks on the wire: its spec masked (here, at the edge, whatever the store answered), the
// masked diff it was recorded with, who, when, from where, and a one-line summary of the change.
import { maskManifest } from '../manifest/index.js';
import type { DiffOp } from '../plan/index.js';
import type { Revision } from '../store/index.js';

/** Paths named in the one-line summary; the rest are counted. */
const SUMMARY_PATHS = 3;

export function presentRevision(r: Revision, withSpec: boolean) {
  const via = r.origin.via ?? (r.source.kind === 'file' ? 'file' : 'api');
  return {
    resourceId: r.resourceId,
    name: r.name,
    generation: r.generation,
    createdAt: r.createdAt,
    deletedAt: r.deletedAt ?? null,
    subject: r.subject,
    source: { ...r.source, via, ...(r.origin.line !== undefined ? { line: r.origin.line } : {}) },
    rolledBackTo: r.origin.rolledBackTo ?? null,
    change: describeChange(r),
    diff: r.diff,
    ...(withSpec ? { manifest: maskManifest(r.manifest) } : {}),
  };
}

/** "created", "rollback to 3: ~/url", "~/url, ~/auth_data/headers/Authorization (secret) and 2 more". */
export function describeChange(r: Pick<Revision, 'generation' | 'diff' | 'origin'>): string {
  const paths = r.generation === 1 && r.origin.rolledBackTo === undefined ? 'created' : describePaths(r.diff);
  return r.origin.rolledBackTo !== undefined ? `rollback to ${r.origin.rolledBackTo}: ${paths}` : paths;
}

function describePaths(diff: readonly DiffOp[]): string {
  if (diff.length === 0) return 'no spec change';
  const sign = { add: '+', remove: '-', replace: '~' } as const;
  const shown = diff.slice(0, SUMMARY_PATHS).map((d) => `${sign[d.op]}${d.path}${d.secret ? ' (secret)' : ''}`);
  return shown.join(', ') + (diff.length > SUMMARY_PATHS ? ` and ${diff.length - SUMMARY_PATHS} more` : '');
}
