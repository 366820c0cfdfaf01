// Writes of desired state: the row (with its view, rendered by the ViewRenderer and kept opaque), a new
// resourceVersion, its changelog entry and (a new generation) its revision. The caller runs each inside one transaction.
import type Database from 'better-sqlite3';
import type { McpServerResource } from '../../domain/resource.js';
import type { ExpectedVersion } from '../resource-writer.js';
import type { NewResource, ResourceUpdate, RevisionNote } from '../types.js';
import { WriteConflictError } from '../write-conflict.js';
import type { ViewRenderer } from '../view-renderer.js';
import type { SqliteChangelog } from './changelog.js';
import type { IsoNow } from '../iso-now.js';
import { refOf, type RefIndex } from './ref-index.js';
import type { SqliteResourceReads } from './resource-reads.js';
import { revisionRowOf } from '../revision-rows.js';
import type { SqliteRevisions } from './revisions.js';
import { maskedResourceText, resourceOfRow, storedText, type ResourceRow, type RowCodec } from '../resource-rows.js';

export interface ResourceWritesDeps {
  db: Database.Database;
  rows: RowCodec;
  reads: SqliteResourceReads;
  changelog: SqliteChangelog;
  views: ViewRenderer;
  clock: IsoNow;
  /** Each new generation records its revision here, in the write's transaction. */
  revisions: SqliteRevisions;
  /** The ref index when loaded (kept in step with each write), else undefined. */
  refs: () => RefIndex | undefined;
}

export class SqliteResourceWrites {
  private readonly stmt;

  constructor(private readonly deps: ResourceWritesDeps) {
    const db = deps.db;
    this.stmt = {
      insert: db.prepare(`INSERT INTO resources (id, fqn, tenant, name, kind, spec, secrets, spec_hash, generation,
          resource_version, source, metadata, account_id, created_by, updated_by, created_at, updated_at, status, view, view_rv)
        VALUES (@id, @fqn, @tenant, @name, @kind, @spec, @secrets, @spec_hash, @generation, @resource_version,
          @source, @metadata, @account_id, @created_by, @updated_by, @created_at, @updated_at, @status, @view, @resource_version)`),
      update: db.prepare(`UPDATE resources SET kind = @kind, spec = @spec, secrets = @secrets, spec_hash = @spec_hash,
          generation = @generation, resource_version = @resource_version, source = @source, metadata = @metadata,
          account_id = @account_id, updated_by = @updated_by, updated_at = @updated_at, status = @status, view = @view,
          view_rv = @resource_version
        WHERE fqn = @fqn`),
      delete: db.prepare('DELETE FROM resources WHERE fqn = ?'),
    };
  }

  create(input: NewResource, revision?: RevisionNote): McpServerResource {
    const { changelog, rows, views } = this.deps;
    // Checked in the write's transaction, before anything is written: the fqn's UNIQUE index would refuse
    // the insert too, but with an error that names no conflict.
    if (this.deps.reads.versionOf(input.fqn) !== undefined) throw new WriteConflictError(input.fqn, 'the name is taken');
    const rv = changelog.nextResourceVersion();
    const now = this.deps.clock.now();
    const row = rows.newRow(input, rv, now);
    this.stmt.insert.run({ ...row, view: views.render(storedText(row), input.status, rv) });
    this.deps.refs()?.set(refOf(input.fqn, input.id, input.tenant, input.name, 1, input.source));
    changelog.append(rv, 'ADDED', input.fqn, maskedResourceText(row), now);
    const created = resourceOfRow(row, {
      manifest: input.manifest,
      source: input.source,
      metadata: input.metadata,
      createdBy: input.createdBy,
      updatedBy: input.createdBy,
      status: input.status,
    });
    this.deps.revisions.record(revisionRowOf(created, revision, now));
    return created;
  }

  update(fqn: string, update: ResourceUpdate, expect?: ExpectedVersion, revision?: RevisionNote): McpServerResource {
    const { changelog, rows, views } = this.deps;
    // Who created it, and when, stay as stored. Read in the write's transaction: the compare of the swap.
    const stored = this.deps.reads.row(fqn);
    if (!stored) throw new WriteConflictError(fqn, 'it no longer exists');
    if (expect && stored.resource_version !== expect.resourceVersion) {
      throw new WriteConflictError(fqn, `resourceVersion ${stored.resource_version}, not ${expect.resourceVersion}`);
    }
    const rv = changelog.nextResourceVersion();
    const now = this.deps.clock.now();
    const row = rows.updatedRow(stored, update, rv, now);
    this.stmt.update.run({ ...row, view: views.render(storedText(row), update.status, rv) });
    changelog.append(rv, 'MODIFIED', fqn, maskedResourceText(row), now);
    this.deps.refs()?.set(refOf(fqn, row.id, row.tenant, row.name, update.generation, update.source));
    const updated = resourceOfRow(row, {
      manifest: update.manifest,
      source: update.source,
      metadata: update.metadata,
      createdBy: JSON.parse(row.created_by),
      updatedBy: update.updatedBy,
      status: update.status,
    });
    if (update.generation > stored.generation) this.deps.revisions.record(revisionRowOf(updated, revision, now));
    return updated;
  }

  remove(fqn: string, expect?: ExpectedVersion): McpServerResource | undefined {
    const { changelog, rows } = this.deps;
    const row = this.deps.reads.row(fqn);
    if (!row) return undefined;
    if (expect && row.resource_version !== expect.resourceVersion) {
      throw new WriteConflictError(fqn, `resourceVersion ${row.resource_version}, not ${expect.resourceVersion}`);
    }
    const rv = changelog.nextResourceVersion();
    const now = this.deps.clock.now();
    this.stmt.delete.run(fqn);
    this.deps.refs()?.delete(fqn);
    this.deps.revisions.markDeleted(row.id, now);
    changelog.appendResource(rv, 'DELETED', { ...rows.fromRow(row, true), resourceVersion: rv }, now);
    return { ...rows.fromRow(row), resourceVersion: rv };
  }
}
