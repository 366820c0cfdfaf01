// The revisions table's row (both engines keep the same columns), and what a write records in it. The
// spec and secrets of a revision are its resource row's (see RowCodec.seal: masked spec, sealed secrets).
// The revision of a live resource's current generation keeps neither (NULL): they are the row's, read
// through REVISIONS_READ. A trigger on resources copies them into the revision when the row's generation
// moves on or the row is deleted, so each spec is stored once.
// Nor does a diff repeat the spec: an op whose `to` is the revision's own spec value at its path is stored
// as [op, path] and read with that value (see storedDiff), so a create's diff, which lists every field,
// is stored as its paths.
import { isDeepStrictEqual } from 'node:util';
import type { McpServerResource } from '../domain/resource.js';
import { splitSecrets, valueAt } from '../manifest/index.js';
import type { DiffOp } from '../plan/diff.js';
import type { Revision, RevisionNote } from './types.js';
import type { RowCodec } from './resource-rows.js';

export interface RevisionRow {
  resource_id: string;
  generation: number;
  fqn: string;
  name: string;
  /** NULL while the revision is its live resource's current generation (read through REVISIONS_READ). */
  spec: string | null;
  secrets: string | null;
  diff: string;
  source: string;
  origin: string;
  subject: string;
  account_id: string;
  created_at: string;
  deleted_at: string | null;
}

/** How long revisions are kept (see RevisionLog). */
export interface RevisionRetention {
  /** Generations kept per resource. */
  revisionHistory: number;
  /** How long the revisions of a removed resource are kept. */
  revisionRetentionMs: number;
}

export const DEFAULT_REVISION_RETENTION: RevisionRetention = { revisionHistory: 20, revisionRetentionMs: 7 * 24 * 3_600_000 };

export function revisionRetention(options: Partial<RevisionRetention>): RevisionRetention {
  return {
    revisionHistory: options.revisionHistory ?? DEFAULT_REVISION_RETENTION.revisionHistory,
    revisionRetentionMs: options.revisionRetentionMs ?? DEFAULT_REVISION_RETENTION.revisionRetentionMs,
  };
}

/** The revision row of a written resource's new generation: its spec and secrets are the row's. */
export function revisionRowOf(written: McpServerResource, note: RevisionNote | undefined, now: string): RevisionRow {
  return {
    resource_id: written.id,
    generation: written.generation,
    fqn: written.fqn,
    name: written.name,
    spec: null,
    secrets: null,
    diff: storedDiff(note?.diff ?? [], written.manifest),
    source: JSON.stringify(written.source),
    origin: JSON.stringify(note?.origin ?? {}),
    subject: JSON.stringify(written.updatedBy),
    account_id: written.accountId,
    created_at: now,
    deleted_at: null,
  };
}

/** A row as read through REVISIONS_READ (spec and secrets present) as a revision: secrets masked, or opened (`open`). */
export function revisionOfRow(row: RevisionRow & { spec: string; secrets: string }, rows: RowCodec, open: boolean): Revision {
  return {
    resourceId: row.resource_id,
    fqn: row.fqn,
    name: row.name,
    generation: Number(row.generation),
    manifest: rows.open(row.spec, open ? row.secrets : undefined),
    diff: diffOfStored(row.diff, row.spec),
    source: JSON.parse(row.source),
    origin: JSON.parse(row.origin),
    subject: JSON.parse(row.subject),
    accountId: row.account_id,
    createdAt: row.created_at,
    ...(row.deleted_at !== null ? { deletedAt: row.deleted_at } : {}),
  };
}

/** A stored op whose `to` is the revision's spec value at `path`. */
type SpecOp = [op: DiffOp['op'], path: string];

/**
 * The diff column of a generation whose manifest (secrets present) is `manifest`: an op is kept as
 * [op, path] when its `to` is the value at its path in the spec column (the masked manifest) and the
 * masking changed nothing there, so the value read back is the one the op had, masked or opened alike.
 */
function storedDiff(diff: readonly DiffOp[], manifest: McpServerResource['manifest']): string {
  let spec: unknown;
  return JSON.stringify(
    diff.map((op): DiffOp | SpecOp => {
      if (op.secret || !('to' in op) || op.to === undefined || 'from' in op) return op;
      spec ??= splitSecrets(manifest).spec;
      const at = valueAt(spec, op.path);
      return at !== undefined && isDeepStrictEqual(at, op.to) && isDeepStrictEqual(at, valueAt(manifest, op.path)) ? [op.op, op.path] : op;
    }),
  );
}

/** A diff column read back, the [op, path] ops with the value at path in `spec` (the spec column's JSON). */
function diffOfStored(text: string, spec: string): DiffOp[] {
  const stored = JSON.parse(text) as (DiffOp | SpecOp)[];
  let parsed: unknown;
  return stored.map((op) => {
    if (!Array.isArray(op)) return op;
    parsed ??= JSON.parse(spec);
    return { op: op[0], path: op[1], to: valueAt(parsed, op[1]) };
  });
}

export const REVISION_COLUMNS = 'resource_id, generation, fqn, name, spec, secrets, diff, source, origin, subject, account_id, created_at, deleted_at';

/**
 * Reading revisions (alias v) with the spec and secrets their live resource's row holds for them:
 * `SELECT ${REVISIONS_READ} WHERE v.…`. Qualify every column of a condition with v.
 */
export const REVISIONS_READ =
  'v.resource_id, v.generation, v.fqn, v.name, coalesce(v.spec, r.spec) AS spec, coalesce(v.secrets, r.secrets) AS secrets, v.diff, v.source, v.origin, ' +
  'v.subject, v.account_id, v.created_at, v.deleted_at FROM revisions AS v LEFT JOIN resources AS r ON v.spec IS NULL AND r.id = v.resource_id';
