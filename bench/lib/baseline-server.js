// The baseline of the HTTP figures, as a process of its own like the control plane: bare express 5.
//   node bench/lib/baseline-server.js echo          PUT /api/svc/v1/mcp-servers parses the JSON body and answers it
//   node bench/lib/baseline-server.js floor DB full|normal
//                                                   the durable floor of a PUT: the same route, and one INSERT of the
//                                                   body per request into DB (WAL, synchronous FULL or NORMAL: the
//                                                   pragmas and durability of the control plane's store), then the answer
//   node bench/lib/baseline-server.js list FILE     GET /api/svc/v1/mcp-servers?offset=N answers the page FILE holds for N,
//                                                   from memory (FILE: JSON object offset → answer)
// Prints "listening on <url>".
import { readFileSync } from 'node:fs';
import express from 'express';
import Database from 'better-sqlite3';

const [mode, file] = process.argv.slice(2);
const app = express();
app.disable('x-powered-by');
app.set('etag', false);
app.set('query parser', 'simple');

if (mode === 'echo') {
  app.put('/api/svc/v1/mcp-servers', express.json({ limit: 1024 * 1024 }), (req, res) => {
    res.json(req.body);
  });
} else if (mode === 'floor') {
  const durability = process.argv[4] ?? 'full';
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma(`synchronous = ${durability === 'normal' ? 'NORMAL' : 'FULL'}`);
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
  db.exec('CREATE TABLE IF NOT EXISTS resources (fqn TEXT PRIMARY KEY, name TEXT NOT NULL, spec TEXT NOT NULL)');
  const insert = db.prepare('INSERT INTO resources (fqn, name, spec) VALUES (?, ?, ?)');
  app.put('/api/svc/v1/mcp-servers', express.json({ limit: 1024 * 1024 }), (req, res) => {
    const m = req.body.manifest;
    insert.run(`default:mcp-server:${m.name}`, m.name, JSON.stringify(m));
    res.json(req.body);
  });
} else if (mode === 'list') {
  const pages = JSON.parse(readFileSync(file, 'utf8'));
  app.get('/api/svc/v1/mcp-servers', (req, res) => {
    const page = pages[String(req.query.offset ?? 0)];
    if (!page) return void res.status(404).json({ error: 'no such page' });
    res.json(page);
  });
} else {
  process.stderr.write(`unknown mode ${mode}\n`);
  process.exit(2);
}

const server = app.listen(0, '127.0.0.1', () => {
  process.stdout.write(`listening on http://127.0.0.1:${server.address().port}\n`);
});
process.once('SIGTERM', () => {
  server.close();
  server.closeAllConnections();
});
