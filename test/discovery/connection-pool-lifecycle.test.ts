// The discovery connection pool at its edges: a discovery that starts after the pool closed (shutdown)
// answers a failure instead of throwing, and an origin nobody could connect to is not kept.
import { createServer, type AddressInfo } from 'node:net';
import { discover, type DiscoveryTarget } from '../../src/discovery/index.js';
import { ConnectionPool } from '../../src/upstream/connection-pool.js';
import { EgressPolicy } from '../../src/upstream/egress.js';
import { waitFor } from '../support/wait-for.js';

const loopbackAllowed = new EgressPolicy();

function target(url: string): DiscoveryTarget {
  return { url, headers: {}, tls: { rejectUnauthorized: true }, timeoutMs: 10_000, authConfigured: 'none' };
}

/** A loopback port nobody listens on (bound, then closed). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

/** Origins the pool keeps an entry for, over all its settings (internal state: what must not grow). */
function trackedOrigins(pool: ConnectionPool): number {
  const agents = (pool as unknown as { agents: Map<string, { origins: Map<string, unknown> }> }).agents;
  let n = 0;
  for (const agent of agents.values()) n += agent.origins.size;
  return n;
}

describe('the discovery connection pool at its edges', () => {
  test('after close, a lease answers failures and discover() resolves with a failure (never throws)', async () => {
    const pool = new ConnectionPool();
    await pool.close();
    const f = pool.lease({ rejectUnauthorized: true }, { egress: loopbackAllowed });
    const err = await f('http://127.0.0.1:1/').then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(TypeError);
    expect(String((err as Error).cause)).toContain('closed');
    await f.close();
    const result = await discover(target('http://127.0.0.1:1/mcp'), { connections: pool, egress: loopbackAllowed });
    expect(result.ok).toBe(false);
  });

  test('an origin whose every connection attempt failed is forgotten', async () => {
    const pool = new ConnectionPool();
    try {
      const port = await closedPort();
      for (let i = 0; i < 3; i++) {
        const f = pool.lease({ rejectUnauthorized: true }, { egress: loopbackAllowed });
        await f(`http://127.0.0.1:${port}/mcp`, { method: 'POST', body: '{}' }).catch(() => undefined);
        await f.close();
      }
      await waitFor(() => trackedOrigins(pool) === 0, { what: 'the refused origin forgotten' });
      expect(pool.openConnections()).toBe(0);
    } finally {
      await pool.close();
    }
  });
});
