// The baseline of the HTTP figures, as a process of its own like the control plane: bare express 5.
//   node bench/lib/baseline-server.js echo          PUT /api/svc/v1/mcp-servers parses the JSON body and answers it
//   node bench/lib/baseline-server.js list FILE     GET /api/svc/v1/mcp-servers?offset=N answers the page FILE holds for N,
//                                                   from memory (FILE: JSON object offset → answer)
// Prints "listening on <url>".
import { readFileSync } from 'node:fs';
import express from 'express';

const [mode, file] = process.argv.slice(2);
const app = express();
app.disable('x-powered-by');
app.set('etag', false);
app.set('query parser', 'simple');

if (mode === 'echo') {
  app.put('/api/svc/v1/mcp-servers', express.json({ limit: 1024 * 1024 }), (req, res) => {
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
