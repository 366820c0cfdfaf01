// Passes a request on to the control plane's internal listener (127.0.0.1) and its answer back, both
// streamed: nothing is buffered (an event stream goes out event by event), a client that goes away ends
// the request to the control plane, and a control plane that breaks off ends the client's connection.
// Hop-by-hop headers (RFC 9110 7.6.1, and those the Connection header names) stay on their hop; the
// client's address goes on in X-Forwarded-For; the host's secret marks the request as passed on by it.
import { Agent, request, type IncomingHttpHeaders, type IncomingMessage, type OutgoingHttpHeaders, type ServerResponse } from 'node:http';
import { endToEndHeaders } from '../../domain/hop-by-hop.js';
import type { Logger } from '../../domain/logger.js';
import { HOST_SECRET_HEADER } from './host-options.js';

const HOST_ONLY = new Set([HOST_SECRET_HEADER]);

/**
 * An idle connection to the control plane is dropped by this side after PROXY_IDLE_MS, well before the
 * internal listener drops it (INTERNAL_KEEP_ALIVE_MS): a request is never sent on a connection the control
 * plane is closing (which would fail it with a 502), even after the control plane's loop was busy for seconds.
 */
export const PROXY_IDLE_MS = 30_000;
/** The internal listener's keep-alive timeout (main.ts); longer than PROXY_IDLE_MS. */
export const INTERNAL_KEEP_ALIVE_MS = 120_000;
/**
 * The public listener's keep-alive timeout (the data-plane host's, and the control plane's when the data plane
 * runs inline): longer than the idle timeout of the load balancers and clients in front (60 s is common), so
 * that they, not this process, close an idle connection, and a request never meets one being closed.
 */
export const PUBLIC_KEEP_ALIVE_MS = 65_000;

/** The headers passed on either way: end-to-end ones only, never the host's secret. */
export function passedHeaders(headers: IncomingHttpHeaders): OutgoingHttpHeaders {
  return endToEndHeaders(headers, HOST_ONLY);
}

export interface ControlProxy {
  handle(req: IncomingMessage, res: ServerResponse): void;
  /** Drops the idle connections to the control plane. */
  close(): void;
}

export function createControlProxy(options: { port: number; secret: string; logger: Logger }): ControlProxy {
  const agent = new Agent({ keepAlive: true, maxFreeSockets: 64, timeout: PROXY_IDLE_MS });
  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    const headers = passedHeaders(req.headers);
    const client = req.socket.remoteAddress;
    if (client) headers['x-forwarded-for'] = typeof headers['x-forwarded-for'] === 'string' ? `${headers['x-forwarded-for']}, ${client}` : client;
    headers[HOST_SECRET_HEADER] = options.secret;
    const upstream = request({ host: '127.0.0.1', port: options.port, method: req.method, path: req.url, headers, agent });
    let answered = false;
    upstream.on('response', (answer) => {
      answered = true;
      res.writeHead(answer.statusCode ?? 502, answer.statusMessage, passedHeaders(answer.headers));
      // An event stream's headers go out now, not with its first event.
      res.flushHeaders();
      answer.pipe(res);
      answer.on('aborted', () => res.destroy());
      answer.on('error', () => res.destroy());
    });
    upstream.on('error', (err) => {
      if (answered || res.headersSent) return void res.destroy();
      if (res.destroyed) return;
      options.logger.warn({ err: err.message, path: (req.url ?? '').split('?')[0] }, 'the control plane did not answer a request passed on to it');
      const body = JSON.stringify({ error: { code: 'ControlPlaneUnavailable', message: 'The control plane did not answer this request; try again shortly.' } });
      res.writeHead(502, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(body) }).end(body);
    });
    // The client went away before the answer ended: so does the request to the control plane.
    res.on('close', () => {
      if (!res.writableFinished) upstream.destroy();
    });
    req.pipe(upstream);
  };
  return { handle, close: () => agent.destroy() };
}
