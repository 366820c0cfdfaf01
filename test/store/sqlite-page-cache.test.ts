// Every SQLite connection the stores open keeps a page cache of PAGE_CACHE_KIB (SQLite's own default), not
// the 16 MB better-sqlite3 builds SQLite with: that cache is malloc'd and kept for good on each connection.
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resourceViews } from '../../src/http/resource-view.js';
import { PAGE_CACHE_KIB } from '../../src/store/sqlite/migrations.js';
import { SqliteGatewayStore, SqliteResourceStore } from '../../src/store/sqlite/index.js';

const cacheSize = (store: object) => (store as { db: Database.Database }).db.pragma('cache_size', { simple: true });

describe('SQLite page cache', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'page-cache-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('is PAGE_CACHE_KIB on the resource and gateway stores, and below what better-sqlite3 would give', async () => {
    expect(new Database(':memory:').pragma('cache_size', { simple: true })).toBe(-16000);
    expect(PAGE_CACHE_KIB).toBeLessThanOrEqual(2048);
    const resources = new SqliteResourceStore({ views: resourceViews, path: join(dir, 'cp.db') });
    const gateway = new SqliteGatewayStore({ path: join(dir, 'gateway.db') });
    try {
      expect(cacheSize(resources)).toBe(-PAGE_CACHE_KIB);
      expect(cacheSize(gateway)).toBe(-PAGE_CACHE_KIB);
    } finally {
      await resources.close();
      await gateway.close();
    }
  });
});
