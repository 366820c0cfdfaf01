// The control plane's internal listener (127.0.0.1, behind the data-plane host) takes only requests the
// host passed on: they carry the host's per-process random secret, compared in constant time. So nothing
// local reaches the control plane around the host, and the X-Forwarded-For the host set can be trusted.
// The secret is removed before the request is handled, so nothing downstream sees it.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { RequestListener } from 'node:http';
import { HOST_SECRET_HEADER } from './host-options.js';

const digest = (value: string) => createHash('sha256').update(value).digest();

export function guardInternal(secret: string, listener: RequestListener): RequestListener {
  const expected = digest(secret);
  return (req, res) => {
    const given = req.headers[HOST_SECRET_HEADER];
    delete req.headers[HOST_SECRET_HEADER];
    if (typeof given !== 'string' || !timingSafeEqual(digest(given), expected)) {
      res.writeHead(403, { 'Content-Type': 'application/json; charset=utf-8', Connection: 'close' });
      res.end(JSON.stringify({ error: { code: 'Forbidden', message: 'This is the control plane\'s internal listener; send requests to the public address.' } }));
      return;
    }
    listener(req, res);
  };
}
