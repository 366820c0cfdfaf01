// Views rendered again when a store opens: all of them when the renderer's format differs from the one
// they were rendered in, else the rows whose view was rendered at another resourceVersion than the row's
// (or never). From the spec column: nothing is decrypted. The store never reads a view's content, only
// the resourceVersion it was rendered at. Runs as a write (the writer lock, see units.ts), so replicas
// opening together render each row once and no write changes a row under it.
import type { ResourceStatus } from '../../domain/resource.js';
import { COLUMNS, storedText, type ResourceRow } from '../resource-rows.js';
import type { ViewRenderer } from '../view-renderer.js';
import type { Queryable } from './connection.js';

const PAGE = 500;

/** Answers the number of views rendered. */
export async function renderStaleViews(client: Queryable, views: ViewRenderer): Promise<number> {
  const format = (await client.query<{ value: number }>("SELECT value FROM counters WHERE name = 'view_format'")).rows[0]?.value;
  const all = format !== views.format;
  let rendered = 0;
  // In pages by fqn: all rows at once could be big.
  for (let after = ''; ; ) {
    const { rows } = await client.query<ResourceRow>(
      `SELECT ${COLUMNS} FROM resources WHERE fqn > $1 ${all ? '' : 'AND (view IS NULL OR view_rv IS DISTINCT FROM resource_version)'}
       ORDER BY fqn LIMIT ${PAGE}`,
      [after],
    );
    if (rows.length === 0) break;
    const rendering = rows.map((r) => views.render(storedText(r), JSON.parse(r.status) as ResourceStatus, r.resource_version));
    await client.query(
      `UPDATE resources SET view = v.view, view_rv = v.rv FROM unnest($1::text[], $2::text[], $3::int8[]) AS v(fqn, view, rv) WHERE resources.fqn = v.fqn`,
      [rows.map((r) => r.fqn), rendering, rows.map((r) => r.resource_version)],
    );
    rendered += rows.length;
    after = rows[rows.length - 1]!.fqn;
  }
  if (all) await client.query("UPDATE counters SET value = $1 WHERE name = 'view_format'", [views.format]);
  return rendered;
}
