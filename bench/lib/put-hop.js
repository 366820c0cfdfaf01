// The cost of the hop between the data-plane thread and the control plane's main thread, alone: a worker
// thread passes CLIENTS closed-loop PUTs (a 0.5 KB JSON body, a 0.6 KB JSON answer) to an HTTP server on the
// main thread, as the data-plane host's control proxy does (http.request with a keep-alive Agent), over
//   tcp   a loopback TCP connection (what the process does), or
//   port  a Duplex over a MessagePort per connection (no socket, no kernel; the HTTP parse stays),
// and reports the main thread's CPU per request (its event loop: what every answer queues for). A
// structured hand-off (method, path, headers and body as a message, no HTTP) would save at most the main
// thread's HTTP parse and serialisation besides what `port` saves.
//   node bench/lib/put-hop.js [N=20000] [CLIENTS=32]     prints one JSON line per mode, three rounds each
import { readFileSync } from 'node:fs';
import { Agent, createServer, request } from 'node:http';
import { Duplex } from 'node:stream';
import { isMainThread, MessageChannel, parentPort, Worker, workerData } from 'node:worker_threads';

/** A Duplex over a MessagePort: bytes written on one side are read on the other; flow control by acks. */
class PortStream extends Duplex {
  constructor(port) {
    super({ allowHalfOpen: false });
    this.port = port;
    this.inflight = 0;
    this.consumed = 0;
    this.remoteAddress = '127.0.0.1';
    port.on('message', (m) => {
      if (typeof m === 'number') {
        this.inflight -= m;
        const waiting = this.waiting;
        if (waiting && this.inflight < 1 << 20) {
          this.waiting = undefined;
          waiting();
        }
        return;
      }
      if (m === null) return void this.push(null);
      this.push(Buffer.from(m.buffer, m.byteOffset, m.byteLength));
      this.consumed += m.byteLength;
      if (this.consumed >= 64 << 10) {
        port.postMessage(this.consumed);
        this.consumed = 0;
      }
    });
    port.on('close', () => this.destroy());
  }
  _write(chunk, _enc, cb) {
    this.port.postMessage(chunk);
    this.inflight += chunk.length;
    if (this.inflight < 1 << 20) cb();
    else this.waiting = cb;
  }
  _final(cb) {
    this.port.postMessage(null);
    cb();
  }
  _read() {}
  _destroy(err, cb) {
    this.port.close();
    cb(err);
  }
  setTimeout() { return this; }
  setNoDelay() { return this; }
  setKeepAlive() { return this; }
  ref() { return this; }
  unref() { return this; }
}

const mainThreadCpuMs = () => {
  const fields = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
};

if (isMainThread) {
  const [n = '20000', clients = '32'] = process.argv.slice(2);
  const server = createServer((req, res) => {
    let bytes = 0;
    req.on('data', (d) => (bytes += d.length));
    req.on('end', () => {
      const body = JSON.stringify({ ok: true, bytes, pad: 'x'.repeat(600) });
      res.writeHead(201, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }).end(body);
    });
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  for (let round = 0; round < 3; round++) {
    for (const mode of ['tcp', 'port']) {
      const worker = new Worker(new URL(import.meta.url), { workerData: { mode, port: server.address().port, n: Number(n), clients: Number(clients) } });
      const cpu0 = mainThreadCpuMs();
      const t0 = performance.now();
      await new Promise((resolve) => worker.on('message', (m) => (m.port ? server.emit('connection', new PortStream(m.port)) : resolve())));
      const ms = performance.now() - t0;
      console.log(JSON.stringify({ mode, requests: Number(n), perSecond: Math.round((Number(n) / ms) * 1000), mainThreadUsPerRequest: +(((mainThreadCpuMs() - cpu0) * 1000) / Number(n)).toFixed(1), load: readFileSync('/proc/loadavg', 'utf8').split(' ')[0] }));
      await worker.terminate();
    }
  }
  server.close();
  server.closeAllConnections();
} else {
  const { mode, port, n, clients } = workerData;
  const agent = new Agent({ keepAlive: true, maxFreeSockets: 64 });
  if (mode === 'port') {
    agent.createConnection = () => {
      const { port1, port2 } = new MessageChannel();
      parentPort.postMessage({ port: port2 }, [port2]);
      return new PortStream(port1);
    };
  }
  const body = JSON.stringify({ name: 'x', spec: { url: 'http://a', pad: 'y'.repeat(400) } });
  const one = () =>
    new Promise((resolve, reject) => {
      const r = request({ host: '127.0.0.1', port, method: 'PUT', path: '/api/svc/v1/mcp-servers', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (a) => {
        a.resume();
        a.on('end', resolve);
      });
      r.on('error', reject);
      r.end(body);
    });
  let started = 0;
  await Promise.all(Array.from({ length: clients }, async () => { while (started++ < n) await one(); }));
  agent.destroy();
  parentPort.postMessage({ done: true });
}
