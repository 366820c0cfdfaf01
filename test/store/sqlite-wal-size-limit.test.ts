// The SQLite write-ahead log does not keep the size of its largest burst: once a checkpoint has copied it
// into the database, the next commit that starts the log over truncates the file to the limit.
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDatabase, WAL_SIZE_LIMIT_BYTES } from '../../src/store/sqlite/migrations.js';

const MIGRATIONS = [{ version: 1, name: 'blobs', sql: 'CREATE TABLE blobs (id INTEGER PRIMARY KEY, body BLOB NOT NULL)' }];

describe('SQLite WAL size limit', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'mcp-wal-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('truncates the -wal file to the limit after a burst that grew it far past the limit', () => {
    const path = join(dir, 'control-plane.db');
    const db = openDatabase(path, MIGRATIONS);
    try {
      expect(db.pragma('journal_size_limit', { simple: true })).toBe(WAL_SIZE_LIMIT_BYTES);
      const walSize = () => statSync(`${path}-wal`).size;
      // One transaction three times the limit (a cold sync's group commit), in 256 KiB rows.
      const rows = Math.ceil((3 * WAL_SIZE_LIMIT_BYTES) / (256 * 1024));
      db.prepare(
        'WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?) INSERT INTO blobs (body) SELECT randomblob(262144) FROM n',
      ).run(rows);
      expect(walSize()).toBeGreaterThan(3 * WAL_SIZE_LIMIT_BYTES);
      // That commit's automatic checkpoint copied the log into the database (no reader held it back);
      // the next write starts the log over, and its commit truncates the file.
      db.prepare('DELETE FROM blobs WHERE id = 1').run();
      expect(walSize()).toBeLessThanOrEqual(WAL_SIZE_LIMIT_BYTES);
      expect(db.prepare('SELECT count(*) FROM blobs').pluck().get()).toBe(rows - 1);
    } finally {
      db.close();
    }
  });
});
