// Writes of desired state, each a compare-and-swap on the caller's write transaction, which holds the
// writer lock (units.ts): every statement reads the current rows, and the next resourceVersion is the
// unit's + 1. A create is one statement: the row (with its view, rendered by the ViewRenderer for that
// resourceVersion), its changelog entry and the NOTIFY for the other replicas, all only while the name is
// free. An update or remove needs the stored row first: its claim compares it with what the write
// expects and bumps the resourceVersion only when it matches, then the write is one statement. A refused
// write changes nothing and leaves the transaction usable. A new generation's revision is one statement more
// (see revisions.ts); a removal marks its resource's revisions in its own statement.
import type { McpServerResource } from '../../domain/resource.js';
import type { ExpectedVersion } from '../resource-writer.js';
import { COLUMNS, maskedResourceText, resourceOfRow, storedText, type ResourceRow, type RowCodec } from '../resource-rows.js';
import { revisionRowOf } from '../revision-rows.js';
import type { NewResource, ResourceUpdate, RevisionNote } from '../types.js';
import type { ViewRenderer } from '../view-renderer.js';
import { WriteConflictError } from '../write-conflict.js';
import { changeEntry } from './changelog.js';
import { OutOfStepError } from './out-of-step.js';
import type { Unit } from './units.js';
import { prepared } from './prepared.js';
import type { PgRevisions } from './revisions.js';

/** The NOTIFY a write transaction sends (see notifications.ts). */
export interface Notice {
  channel: string;
  payload: string;
}

/**
 * The claim of an update or remove: the stored row, and the new resourceVersion when the row is the one
 * expected ($2, or any when null): `next_rv` null when it is another.
 */
const CLAIM_STORED = prepared('claim_stored', `WITH cur AS (SELECT ${COLUMNS} FROM resources WHERE fqn = $1),
  rv AS (UPDATE counters SET value = value + 1 WHERE name = 'resource_version'
    AND EXISTS (SELECT 1 FROM cur WHERE $2::int8 IS NULL OR cur.resource_version = $2::int8) RETURNING value)
  SELECT cur.*, (SELECT value FROM rv) AS next_rv FROM cur`);

/**
 * A create at resourceVersion $10 (the unit's + 1), while the name is free: answers the resourceVersion
 * written (null when the name is taken) and the counter as held before (`held`, the unit's).
 */
const INSERT = prepared('insert', `WITH rv AS (UPDATE counters SET value = value + 1
      WHERE name = 'resource_version' AND value = $10::int8 - 1 AND NOT EXISTS (SELECT 1 FROM resources WHERE fqn = $2) RETURNING value),
    written AS (INSERT INTO resources (id, fqn, tenant, name, kind, spec, secrets, spec_hash, generation, resource_version,
        source, metadata, account_id, created_by, updated_by, created_at, updated_at, status, view, view_rv)
      SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9::int8, rv.value, $11, $12, $13, $14, $15, $16, $17, $18, $19, rv.value FROM rv),
    ${changeEntry('ADDED', { rv: 'rv.value', fqn: '$2', object: '$20', at: '$16', from: 'rv' })}
  SELECT (SELECT value FROM rv) AS resource_version, c.value AS held, (SELECT pg_notify($21, $22) FROM rv) AS notified
  FROM counters c WHERE c.name = 'resource_version'`);

const UPDATE = prepared('update', `WITH written AS (UPDATE resources SET kind = $2, spec = $3, secrets = $4, spec_hash = $5, generation = $6,
      resource_version = $7, source = $8, metadata = $9, account_id = $10, updated_by = $11, updated_at = $12, status = $13, view = $14,
      view_rv = $7
    WHERE fqn = $1),
  ${changeEntry('MODIFIED', { rv: '$7', fqn: '$1', object: '$15', at: '$12' })}
  SELECT pg_notify($16, $17)`);

const DELETE = prepared('delete', `WITH gone AS (DELETE FROM resources WHERE fqn = $1),
  marked AS (UPDATE revisions SET deleted_at = $4 WHERE resource_id = $7 AND deleted_at IS NULL),
  ${changeEntry('DELETED', { rv: '$2', fqn: '$1', object: '$3', at: '$4' })}
  SELECT pg_notify($5, $6)`);

export class PgResourceWrites {
  constructor(
    private readonly rows: RowCodec,
    private readonly views: ViewRenderer,
    private readonly revisions: PgRevisions,
  ) {}

  async create(unit: Unit, input: NewResource, now: string, notice: Notice, revision?: RevisionNote): Promise<McpServerResource> {
    const rv = unit.resourceVersion! + 1;
    const row = this.rows.newRow(input, rv, now);
    const { rows } = await unit.client.query<{ resource_version: number | null; held: number }>(
      INSERT([
        row.id, row.fqn, row.tenant, row.name, row.kind, row.spec, row.secrets, row.spec_hash, row.generation, rv,
        row.source, row.metadata, row.account_id, row.created_by, row.updated_by, row.created_at, row.updated_at, row.status,
        this.views.render(storedText(row), input.status, rv), maskedResourceText(row), notice.channel, notice.payload,
      ]),
    );
    if (rows[0]!.held !== rv - 1) throw new OutOfStepError(rows[0]!.held, rv - 1);
    if (rows[0]!.resource_version === null) throw new WriteConflictError(input.fqn, 'the name is taken');
    unit.resourceVersion = rv;
    const created = resourceOfRow(row, {
      manifest: input.manifest,
      source: input.source,
      metadata: input.metadata,
      createdBy: input.createdBy,
      updatedBy: input.createdBy,
      status: input.status,
    });
    await this.revisions.record(unit.client, revisionRowOf(created, revision, now));
    return created;
  }

  async update(
    unit: Unit,
    fqn: string,
    update: ResourceUpdate,
    expect: ExpectedVersion | undefined,
    now: string,
    notice: Notice,
    revision?: RevisionNote,
  ): Promise<McpServerResource> {
    // Who created it, and when, stay as stored.
    const { stored, rv } = await this.claim(unit, fqn, expect, 'it no longer exists');
    const row = this.rows.updatedRow(stored, update, rv, now);
    await unit.client.query(
      UPDATE([        fqn, row.kind, row.spec, row.secrets, row.spec_hash, row.generation, rv, row.source, row.metadata, row.account_id,
        row.updated_by, now, row.status, this.views.render(storedText(row), update.status, rv), maskedResourceText(row),
        notice.channel, notice.payload,
      ]),
    );
    const updated = resourceOfRow(row, {
      manifest: update.manifest,
      source: update.source,
      metadata: update.metadata,
      createdBy: JSON.parse(row.created_by),
      updatedBy: update.updatedBy,
      status: update.status,
    });
    if (update.generation > Number(stored.generation)) await this.revisions.record(unit.client, revisionRowOf(updated, revision, now));
    return updated;
  }

  async remove(unit: Unit, fqn: string, expect: ExpectedVersion | undefined, now: string, notice: Notice): Promise<McpServerResource | undefined> {
    const claimed = await this.claim(unit, fqn, expect, undefined);
    if (!claimed) return undefined;
    const { stored, rv } = claimed;
    const masked = { ...this.rows.fromRow(stored, true), resourceVersion: rv };
    await unit.client.query(DELETE([fqn, rv, JSON.stringify(masked), now, notice.channel, notice.payload, stored.id]));
    return { ...this.rows.fromRow(stored), resourceVersion: rv };
  }

  /** The stored row and the new resourceVersion, or WriteConflictError (undefined without `missing`: none). */
  private async claim(unit: Unit, fqn: string, expect: ExpectedVersion | undefined, missing: string): Promise<{ stored: ResourceRow; rv: number }>;
  private async claim(unit: Unit, fqn: string, expect: ExpectedVersion | undefined, missing: undefined): Promise<{ stored: ResourceRow; rv: number } | undefined>;
  private async claim(unit: Unit, fqn: string, expect: ExpectedVersion | undefined, missing: string | undefined) {
    const { rows } = await unit.client.query<ResourceRow & { next_rv: number | null }>(CLAIM_STORED([fqn, expect?.resourceVersion ?? null]));
    const found = rows[0];
    if (!found) {
      if (missing === undefined) return undefined;
      throw new WriteConflictError(fqn, missing);
    }
    const { next_rv: rv, ...stored } = found;
    if (rv === null) throw new WriteConflictError(fqn, `resourceVersion ${stored.resource_version}, not ${expect!.resourceVersion}`);
    unit.resourceVersion = rv;
    return { stored: stored as ResourceRow, rv };
  }
}
