// HTTP helpers: JSON calls with the bearer token (undici), a port nobody listens on, and autocannon runs
// reduced to the figures the tables print.
import { createServer } from 'node:net';
import autocannon from 'autocannon';
import { request } from 'undici';

export async function callJson(base, token, method, path, body, headers = {}) {
  const res = await request(`${base}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.body.text();
  let json;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  return { status: res.statusCode, headers: res.headers, json, text };
}

export async function expectOk(promise, what) {
  const r = await promise;
  if (r.status < 200 || r.status >= 300) throw new Error(`${what}: HTTP ${r.status}: ${r.text.slice(0, 500)}`);
  return r;
}

/**
 * A loopback port with nothing listening (bound, then closed): discoveries against it fail at once
 * with ECONNREFUSED, so control-plane figures do not measure an upstream.
 */
export async function deadLoopbackPort() {
  const server = createServer();
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/**
 * Runs autocannon against url; makeBody() / makePath() give each request its body / path.
 * Answers requests/s (mean), latency p50/p99 (ms), and counts of errors and non-2xx answers.
 */
export async function load({ url, method = 'GET', token, makeBody, makePath, connections = 32, duration = 5, amount, headers = {} }) {
  const requests = [
    {
      method,
      ...(makeBody || makePath
        ? {
            setupRequest: (req) => {
              if (makeBody) req.body = makeBody();
              if (makePath) req.path = makePath();
              return req;
            },
          }
        : {}),
    },
  ];
  const bodies = makeBody !== undefined;
  const started = performance.now();
  const result = await autocannon({
    url,
    method,
    connections,
    ...(amount !== undefined ? { amount } : { duration }),
    headers: {
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(bodies ? { 'content-type': 'application/json' } : {}),
      ...headers,
    },
    requests,
    timeout: 30,
  });
  const seconds = (performance.now() - started) / 1000;
  const total = result.requests.total;
  return {
    rps: total / seconds,
    p50: result.latency.p50,
    p99: result.latency.p99,
    total,
    errors: result.errors + result.timeouts,
    non2xx: result.non2xx,
  };
}

export function assertClean(r, what) {
  if (r.errors > 0 || r.non2xx > 0) throw new Error(`${what}: ${r.errors} errors and ${r.non2xx} non-2xx answers out of ${r.total}`);
}
