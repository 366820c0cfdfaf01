// Control-plane replicas on one PostgreSQL (`serve --store postgres://…`), each a process of its own
// started like every bench server (bench/lib/server.js), with the keys the replicas must share.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { callJson } from './http.js';
import { newToken, startServer } from './server.js';
import { tempDir, waitFor } from './common.js';

/**
 * A fresh schema on the bench's PostgreSQL and a starter of replicas over it.
 * @param {{ freshSchema(): Promise<{ url: string }> }} postgres
 * @param {{ leaseMs?: number, args?: string[] }} [o] args: more flags for every replica
 */
export async function replicaSet(postgres, { leaseMs, args: more = [] } = {}) {
  const { url } = await postgres.freshSchema();
  const token = newToken();
  const env = {
    MCP_CP_STORE: url,
    MCP_CP_ADMIN_TOKEN: token,
    MCP_CP_SECRET_KEY: randomBytes(32).toString('base64'),
    MCP_CP_SIGNING_KEY: generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
  };
  const args = [...(leaseMs ? ['--lease-duration', `${leaseMs}ms`] : []), ...more];
  let n = 0;
  return {
    token,
    // Each replica listens on loopback, so it says where the others reach it (PostgreSQL mode requires it).
    start: async () => {
      const port = await freePort();
      const at = ['--port', String(port), '--advertise-url', `http://127.0.0.1:${port}`];
      return startServer({ dataDir: tempDir(`replica-${n++}`), token, env, args: [...args, ...at] });
    },
  };
}

/** A loopback port free now. */
function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** The leader as a replica's cluster endpoint names it: { id, epoch } or undefined. */
export async function leaderSeenBy(replica) {
  const r = await callJson(replica.url, replica.token, 'GET', '/api/svc/v1/cluster').catch(() => undefined);
  return r?.status === 200 && r.json?.leader ? r.json.leader : undefined;
}

/** The replica that leads, once every given replica names the same leader; with its id and epoch. */
export async function settledLeader(replicas, timeoutMs = 120_000) {
  return waitFor(
    async () => {
      const seen = await Promise.all(replicas.map(leaderSeenBy));
      if (seen.some((l) => !l) || new Set(seen.map((l) => `${l.id}/${l.epoch}`)).size !== 1) return undefined;
      const self = await Promise.all(replicas.map((r) => callJson(r.url, r.token, 'GET', '/api/svc/v1/cluster')));
      const i = self.findIndex((r) => r.json?.self?.id === seen[0].id);
      return i >= 0 ? { replica: replicas[i], ...seen[0] } : undefined;
    },
    { timeoutMs, intervalMs: 20, what: 'one leader named by every replica' },
  );
}
