// A plain TCP relay, as a process of its own: the floor under any relay on this machine (no HTTP parsing, no
// checks), for the context rows of large-result. Each connection to it is relayed byte for byte to the target.
//   node bench/lib/tcp-relay.js <target url> <mode> [heap]   prints "listening on <the target's url, at the relay>"
// Modes, for the target's answers (what the client sends is relayed as in "copy"):
//   copy    each 'data' chunk written on, reads paused while the client's side is full;
//   pipe    socket.pipe both ways;
//   onread  read into one reused 64 KiB buffer (net's `onread`), each read written on as a slice of it, no
//           read until that write went out (so the buffer is never overwritten while a write holds it).
// heap "data-plane": the process first imports the data plane's modules (the built dist/), so its heap is the
// size and shape of the gateway's data-plane thread: what the garbage collector walks when the socket
// buffers of a large answer are collected.
import { createServer, connect } from 'node:net';
import { join } from 'node:path';
import { DIST } from './common.js';

const [target, mode = 'copy', heap] = process.argv.slice(2);
if (heap === 'data-plane') {
  globalThis.dataPlaneModules = [await import(join(DIST, 'gateway', 'host', 'data-plane-host.js')), await import(join(DIST, 'gateway', 'data-plane', 'index.js'))];
}
const url = new URL(target);

function copy(from, to) {
  from.on('data', (chunk) => {
    if (!to.write(chunk)) {
      from.pause();
      to.once('drain', () => from.resume());
    }
  });
  from.on('end', () => to.end());
}

const server = createServer({ noDelay: true }, (client) => {
  let upstream;
  const reused = mode === 'onread' ? Buffer.allocUnsafe(64 * 1024) : undefined;
  const onread = reused && {
    buffer: reused,
    callback: (n, buffer) => {
      const write = { waiting: false };
      client.write(buffer.subarray(0, n), () => {
        if (!write.waiting) return;
        upstream.resume();
      });
      // Went out at once (the usual case on loopback): read on into the same buffer.
      if (client.writableLength === 0) return true;
      write.waiting = true;
      upstream.pause();
      return false;
    },
  };
  upstream = connect({ host: url.hostname, port: Number(url.port), noDelay: true, ...(onread ? { onread } : {}) });
  const close = () => {
    client.destroy();
    upstream.destroy();
  };
  client.on('error', close).on('close', close);
  upstream.on('error', close).on('close', close);
  if (mode === 'pipe') {
    client.pipe(upstream);
    upstream.pipe(client);
    return;
  }
  copy(client, upstream);
  if (onread) upstream.on('end', () => client.end());
  else copy(upstream, client);
});
server.listen(0, '127.0.0.1', () => {
  const at = new URL(target);
  at.port = String(server.address().port);
  process.stdout.write(`listening on ${at.href}\n`);
});
