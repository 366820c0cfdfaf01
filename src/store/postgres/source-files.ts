// The records of the files of watched directories that were applied cleanly (see SourceFileRecord).
import type { SourceFileRecord } from '../types.js';
import type { Queryable } from './connection.js';

export class PgSourceFiles {
  constructor(private readonly db: () => Queryable) {}

  async list(root: string): Promise<SourceFileRecord[]> {
    const { rows } = await this.db().query<{ path: string; content_hash: string; names: string; fingerprint: string }>(
      'SELECT path, content_hash, names, fingerprint FROM source_files WHERE root = $1',
      [root],
    );
    return rows.map((r) => ({ path: r.path, contentHash: r.content_hash, names: JSON.parse(r.names) as string[], fingerprint: r.fingerprint }));
  }

  /** On the caller's transaction, two statements at most. A record equal to the stored one is not written again. */
  async record(client: Queryable, root: string, files: ReadonlyMap<string, Omit<SourceFileRecord, 'path'> | null>): Promise<void> {
    const forgotten: string[] = [];
    const put = { paths: [] as string[], hashes: [] as string[], names: [] as string[], fingerprints: [] as string[] };
    for (const [path, record] of files) {
      if (record === null) {
        forgotten.push(path);
        continue;
      }
      put.paths.push(path);
      put.hashes.push(record.contentHash);
      put.names.push(JSON.stringify(record.names));
      put.fingerprints.push(record.fingerprint);
    }
    if (forgotten.length > 0) await client.query('DELETE FROM source_files WHERE root = $1 AND path = ANY($2)', [root, forgotten]);
    if (put.paths.length === 0) return;
    await client.query(
      `INSERT INTO source_files (root, path, content_hash, names, fingerprint)
       SELECT $1, * FROM unnest($2::text[], $3::text[], $4::text[], $5::text[])
       ON CONFLICT (root, path) DO UPDATE SET content_hash = excluded.content_hash, names = excluded.names, fingerprint = excluded.fingerprint
       WHERE (source_files.content_hash, source_files.names, source_files.fingerprint)
         IS DISTINCT FROM (excluded.content_hash, excluded.names, excluded.fingerprint)`,
      [root, put.paths, put.hashes, put.names, put.fingerprints],
    );
  }
}
