// Views rendered again when a store opens: all of them when the renderer's format differs from the one
// they were rendered in (or the database is from before views), else the rows whose view was rendered
// at another resourceVersion than the row's (an older build wrote them). From the spec column: nothing
// is decrypted. The store never reads a view's content, only the resourceVersion it was rendered at.
import type Database from 'better-sqlite3';
import type { ResourceStatus } from '../../domain/resource.js';
import type { ViewRenderer } from '../view-renderer.js';
import { storedText, type ResourceRow } from '../resource-rows.js';

/** `closedCleanly`: this build closed the store last and nothing wrote since, so no row can be stale. */
export function renderStaleViews(db: Database.Database, views: ViewRenderer, closedCleanly: boolean): void {
  const setView = db.prepare('UPDATE resources SET view = ?, view_rv = ? WHERE fqn = ?');
  const render = (row: ResourceRow) => setView.run(views.render(storedText(row), JSON.parse(row.status) as ResourceStatus, row.resource_version), row.resource_version, row.fqn);
  const format = db.prepare("SELECT value FROM counters WHERE name = 'view_format'").pluck().get() as number;
  if (format === views.format) {
    if (closedCleanly) return;
    const stale = db.prepare('SELECT * FROM resources WHERE view IS NULL OR view_rv IS NOT resource_version').all() as ResourceRow[];
    if (stale.length > 0) db.transaction(() => stale.forEach(render))();
    return;
  }
  const rowsAfter = db.prepare('SELECT rowid AS rid, * FROM resources WHERE rowid > ? ORDER BY rowid LIMIT ?');
  db.transaction(() => {
    // In pages: a connection cannot write while it iterates, and all rows at once could be big.
    for (let after = 0; ; ) {
      const page = rowsAfter.all(after, 500) as (ResourceRow & { rid: number })[];
      if (page.length === 0) break;
      page.forEach(render);
      after = page[page.length - 1]!.rid;
    }
    db.prepare("UPDATE counters SET value = ? WHERE name = 'view_format'").run(views.format);
  })();
}
