// A process of its own that lists every server, page after page (GET ?limit=1000&offset=…), on a few
// connections until it is stopped: the large-list load of the gateway-isolation figure. A process of its
// own so that receiving the pages costs the measuring process nothing. The bodies are read, not parsed.
//   node bench/lib/list-loop.js URL TOKEN TOTAL CONNECTIONS
// prints "listening on -" once started, and "lists N" when it is stopped (SIGTERM).
const [url, token, totalText, connectionsText] = process.argv.slice(2);
const total = Number(totalText);
const connections = Number(connectionsText);
const LIMIT = 1000;
let pages = 0;
let stopped = false;
process.on('SIGTERM', () => {
  stopped = true;
  process.stdout.write(`lists ${pages}\n`, () => process.exit(0));
});
async function worker(start) {
  for (let offset = start * LIMIT; !stopped; offset = (offset + connections * LIMIT) % Math.max(LIMIT, total)) {
    const res = await fetch(`${url}/api/svc/v1/mcp-servers?limit=${LIMIT}&offset=${offset}`, { headers: { authorization: `Bearer ${token}` } });
    await res.arrayBuffer();
    pages++;
  }
}
process.stdout.write('listening on -\n');
await Promise.all(Array.from({ length: connections }, (_, i) => worker(i)));
