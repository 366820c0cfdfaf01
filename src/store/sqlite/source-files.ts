// The records of the files of watched directories that were applied cleanly (see SourceFileRecord).
import type Database from 'better-sqlite3';
import type { SourceFileRecord } from '../types.js';

export class SqliteSourceFiles {
  private readonly stmt;

  constructor(db: Database.Database) {
    this.stmt = {
      list: db.prepare('SELECT path, content_hash, names, fingerprint FROM source_files WHERE root = ?'),
      one: db.prepare('SELECT content_hash, names, fingerprint FROM source_files WHERE root = ? AND path = ?'),
      put: db.prepare(`INSERT INTO source_files (root, path, content_hash, names, fingerprint) VALUES (?, ?, ?, ?, ?)
        ON CONFLICT (root, path) DO UPDATE SET content_hash = excluded.content_hash, names = excluded.names, fingerprint = excluded.fingerprint`),
      delete: db.prepare('DELETE FROM source_files WHERE root = ? AND path = ?'),
    };
  }

  list(root: string): SourceFileRecord[] {
    const rows = this.stmt.list.all(root) as { path: string; content_hash: string; names: string; fingerprint: string }[];
    return rows.map((r) => ({ path: r.path, contentHash: r.content_hash, names: JSON.parse(r.names) as string[], fingerprint: r.fingerprint }));
  }

  /** Inside the caller's transaction. A record equal to the stored one is not written again. */
  record(root: string, files: ReadonlyMap<string, Omit<SourceFileRecord, 'path'> | null>): void {
    for (const [path, record] of files) {
      const current = this.stmt.one.get(root, path) as { content_hash: string; names: string; fingerprint: string } | undefined;
      if (record === null) {
        if (current) this.stmt.delete.run(root, path);
        continue;
      }
      const names = JSON.stringify(record.names);
      if (current && current.content_hash === record.contentHash && current.names === names && current.fingerprint === record.fingerprint) continue;
      this.stmt.put.run(root, path, record.contentHash, names, record.fingerprint);
    }
  }
}
