// A real HTTP CONNECT proxy on 127.0.0.1 for tests: it tunnels to loopback targets only, records every
// CONNECT (target and headers) and can require a header. close() ends every tunnel.
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';

export interface ConnectRecord {
  target: string;
  headers: IncomingMessage['headers'];
  allowed: boolean;
}

export interface RunningConnectProxy {
  url: string;
  connects: ConnectRecord[];
  close(): Promise<void>;
}

export async function startConnectProxy(options: { requireHeader?: { name: string; value: string } } = {}): Promise<RunningConnectProxy> {
  const connects: ConnectRecord[] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((_req, res) => {
    // Only tunnels: a plain request to the proxy is refused.
    res.writeHead(405, { 'content-type': 'text/plain' });
    res.end('CONNECT only');
  });
  server.on('connect', (req: IncomingMessage, client: Socket, head: Buffer) => {
    sockets.add(client);
    client.on('close', () => sockets.delete(client));
    client.on('error', () => undefined);
    const target = req.url ?? '';
    const required = options.requireHeader;
    const presented = required ? req.headers[required.name.toLowerCase()] : undefined;
    const [host, port] = target.split(':');
    const allowed = (!required || presented === required.value) && host === '127.0.0.1' && Number(port) > 0;
    connects.push({ target, headers: { ...req.headers }, allowed });
    if (!allowed) {
      client.end(required && presented !== required.value ? 'HTTP/1.1 407 Proxy Authentication Required\r\n\r\n' : 'HTTP/1.1 403 Forbidden\r\n\r\n');
      return;
    }
    const upstream = connect(Number(port), host, () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (head.length > 0) upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    sockets.add(upstream);
    upstream.on('close', () => sockets.delete(upstream));
    upstream.on('error', () => client.destroy());
    client.on('close', () => upstream.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    connects,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
