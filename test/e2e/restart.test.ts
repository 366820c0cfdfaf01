// A restart on unchanged data converges without writing: the directory's files are trusted by hash,
// and each server keeps the status of its last discovery until its first discovery of the new process
// finishes with the same answer. Both stores are compared row by row before and after.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { startMcpServer, type RunningMcpServer } from '../support/mcp-servers.js';
import { remoteManifest, startTestControlPlane, waitFor, type TestControlPlane } from '../support/control-plane.js';
import { tempDir } from '../sources/helpers.js';

const PUT = '/api/svc/v1/mcp-servers';

function everyRow(dataDir: string) {
  const read = (file: string, sql: string[]) => {
    const db = new Database(join(dataDir, file), { readonly: true });
    try {
      return sql.map((q) => db.prepare(q).all());
    } finally {
      db.close();
    }
  };
  return {
    controlPlane: read('control-plane.db', [
      'SELECT * FROM counters',
      'SELECT fqn, resource_version, generation, status, spec_hash FROM resources ORDER BY fqn',
      'SELECT max(resource_version) AS rv, count(*) AS n FROM changelog',
      'SELECT id, count, last_ts FROM events ORDER BY id',
      'SELECT * FROM source_files ORDER BY path',
    ]),
    gateway: read('gateway.db', ['SELECT * FROM gateway_entries ORDER BY fqn']),
  };
}

async function settled(cp: TestControlPlane, names: string[]) {
  await waitFor(
    async () => {
      const res = await cp.api(`${PUT}?limit=100`);
      const servers = (res.json.data as { name: string; status: { conditions: { type: string; status: string }[] } }[]).filter((s) =>
        names.includes(s.name),
      );
      return servers.length === names.length && servers.every((s) => s.status.conditions.some((c) => c.type === 'Discovered' && c.status !== 'Unknown'));
    },
    { what: `${names.join(', ')} discovered`, timeoutMs: 15_000 },
  );
  await cp.controller.waitForIdle();
}

describe('restart on unchanged data', () => {
  let upstream: RunningMcpServer;
  beforeAll(async () => {
    upstream = await startMcpServer({ transport: 'streamable-http', tools: 2 });
  });
  afterAll(async () => {
    await upstream.close();
  });

  it('writes no row to either store', async () => {
    const { dir, cleanup } = tempDir();
    writeFileSync(
      join(dir, 'servers.yaml'),
      [
        `type: mcp-server/remote\nname: from-file\ndescription: Reachable\nurl: ${upstream.url}\ncollaborators:\n  - subject: team:everyone\n    role_id: mcp-server-user\n`,
        // Nothing listens on port 9: a failed discovery, kept as it was across the restart too.
        'type: mcp-server/remote\nname: unreachable\ndescription: Nobody home\nurl: http://127.0.0.1:9/mcp\ncollaborators:\n  - subject: team:everyone\n    role_id: mcp-server-user\n',
      ].join('---\n'),
    );
    const args = ['--resync-interval', '0', '--discovery-retry-base', '10m', '--discovery-retry-max', '10m'];
    const first = await startTestControlPlane({ manifests: [dir], args });
    const dataDir = first.dataDir;
    try {
      expect((await first.api(PUT, { method: 'PUT', body: { manifest: remoteManifest({ name: 'from-api', url: upstream.url }) } })).status).toBe(200);
      await settled(first, ['from-file', 'unreachable', 'from-api']);
      await first.stop();
      const before = everyRow(dataDir);

      const second = await startTestControlPlane({ manifests: [dir], args, dataDir });
      try {
        // Every server is rediscovered once after a restart; wait for those discoveries to finish.
        await waitFor(() => upstream.requests.filter((r) => r.rpcMethod === 'tools/list').length >= 4, { what: 'the rediscoveries' });
        await settled(second, ['from-file', 'unreachable', 'from-api']);
        expect(everyRow(dataDir)).toEqual(before);
      } finally {
        await second.stop();
      }
    } finally {
      await first.dispose();
      cleanup();
    }
  });
});
