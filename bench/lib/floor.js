// The floor of the cold sync, in one process: read every manifest file of DIR, parse it with yaml,
// validate each document with the compiled ajv schema, and insert one row per document into a fresh
// SQLite file (WAL, synchronous=NORMAL, as the store opens its files) in one transaction.
//   node bench/lib/floor.js DIR DBFILE     prints {"ms":…, "documents":…, …} as its last line
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { parseAllDocuments } from 'yaml';
import { importDist } from './common.js';

const [dir, dbFile] = process.argv.slice(2);
const { MANIFEST_KINDS } = await importDist('manifest/schemas.js');
const validate = MANIFEST_KINDS.get('mcp-server/remote').validate;
const db = new Database(dbFile);
db.pragma('journal_mode = WAL');
db.pragma('synchronous = NORMAL');
db.exec('CREATE TABLE resources (fqn TEXT PRIMARY KEY, name TEXT NOT NULL, generation INTEGER NOT NULL, spec TEXT NOT NULL)');
const insert = db.prepare('INSERT INTO resources (fqn, name, generation, spec) VALUES (?, ?, 1, ?)');

const t0 = performance.now();
const names = (await readdir(dir)).filter((n) => /\.(ya?ml|json)$/.test(n)).sort();
const texts = await Promise.all(names.map((n) => readFile(join(dir, n), 'utf8')));
const t1 = performance.now();
const docs = [];
for (const text of texts) for (const doc of parseAllDocuments(text)) docs.push(doc.toJS());
const t2 = performance.now();
for (const d of docs) if (!validate(d)) throw new Error(`invalid: ${JSON.stringify(validate.errors)}`);
const t3 = performance.now();
db.transaction(() => {
  for (const d of docs) insert.run(`default:mcp-server:${d.name}`, d.name, JSON.stringify(d));
})();
const t4 = performance.now();
db.close();
process.stdout.write(
  `${JSON.stringify({ ms: t4 - t0, documents: docs.length, files: names.length, readMs: t1 - t0, parseMs: t2 - t1, validateMs: t3 - t2, insertMs: t4 - t3 })}\n`,
);
