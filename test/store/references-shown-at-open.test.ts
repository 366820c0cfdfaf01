// A database written by a build that masked secret references like values (the spec column and the view
// held "********" where a manifest said `${env:GITHUB_TOKEN}`): opened by this build, the API shows the
// references as written, values stay masked, and opening it again changes nothing. On both engines.
import { MASK } from '../../src/manifest/index.js';
import { remoteManifest, startTestControlPlane, TEST_STORE_VARIABLE, type TestControlPlane } from '../support/control-plane.js';
import { POSTGRES_START_TIMEOUT_MS, requirePostgres, testPostgres } from '../support/postgres.js';
import { openStoreSql } from '../support/store-sql.js';

const API = '/api/svc/v1/mcp-servers';
const CANARY = 'canary-old-shape-5a1c';
const BEARER = 'Bearer ${env:GITHUB_TOKEN}';
const FILE = '${file:team/key}';
const ARGS = ['--resync-interval', '0'];
/** The migration that records the pass (resource-migrations.ts on SQLite, migrations.ts on PostgreSQL). */
const MIGRATION = { sqlite: 10, postgres: 9 } as const;

const headers = (n: number) => ({ Authorization: BEARER, 'X-Key': `${CANARY}-${n}`, 'X-File': FILE });
const manifest = (n: number) => remoteManifest({ name: 'old-refs', description: `generation ${n}`, additional_headers: headers(n) });
const shown = { Authorization: BEARER, 'X-Key': MASK, 'X-File': FILE };

const engines = [
  { engine: 'sqlite' as const, describe },
  { engine: 'postgres' as const, describe: requirePostgres().describe },
];

for (const { engine, describe: describeOn } of engines) {
  describeOn(`references masked by an older build, on ${engine}`, () => {
    let cp: TestControlPlane | undefined;
    beforeAll(async () => {
      if (engine === 'postgres') {
        process.env[TEST_STORE_VARIABLE] = 'postgres';
        await testPostgres();
      } else delete process.env[TEST_STORE_VARIABLE];
    }, POSTGRES_START_TIMEOUT_MS);
    afterAll(async () => {
      await cp?.dispose();
      delete process.env[TEST_STORE_VARIABLE];
    });

    /** The stored spec columns of the server's row and its revisions. */
    async function storedSpecs(tcp: TestControlPlane): Promise<string[]> {
      const sql = await openStoreSql(tcp.config, { readonly: true });
      try {
        const rows = await sql.all<{ spec: string }>('control-plane', "SELECT spec FROM resources WHERE name = 'old-refs'");
        // A live resource's current revision keeps no copy of the row's spec (read from the row, as the store does).
        const revisions = await sql.all<{ spec: string }>(
          'control-plane',
          "SELECT coalesce(v.spec, r.spec) AS spec FROM revisions AS v LEFT JOIN resources AS r ON r.id = v.resource_id WHERE v.name = 'old-refs' ORDER BY v.generation",
        );
        return [...rows, ...revisions].map((r) => r.spec);
      } finally {
        await sql.close();
      }
    }

    async function answers(tcp: TestControlPlane) {
      const got = await tcp.api(`${API}/name/old-refs`);
      const list = await tcp.api(API);
      const events = await tcp.api(`${API}/name/old-refs/events`);
      const revision = await tcp.api(`${API}/name/old-refs/revisions/1`);
      for (const text of [got.text, list.text, events.text, revision.text]) expect(text).not.toContain(CANARY);
      return { got, list, revision };
    }

    it('shows the references as written after the open, values stay masked, and a second open changes nothing', async () => {
      cp = await startTestControlPlane({ args: ARGS });
      for (const n of [1, 2]) expect((await cp.api(API, { method: 'PUT', body: { manifest: manifest(n) } })).status).toBe(200);
      await cp.stop();

      // The old shape: specs (row and revisions) and the view masked the references; no pass recorded.
      const sql = await openStoreSql(cp.config);
      try {
        for (const reference of [BEARER, FILE]) {
          const [from, to] = [JSON.stringify(reference), JSON.stringify(MASK)];
          await sql.all('control-plane', 'UPDATE resources SET spec = replace(spec, ?, ?), view = replace(view, ?, ?)', [from, to, from, to]);
          await sql.all('control-plane', 'UPDATE revisions SET spec = replace(spec, ?, ?)', [from, to]);
        }
        await sql.all('control-plane', "DELETE FROM counters WHERE name = 'references_shown'");
        await sql.all('control-plane', 'DELETE FROM schema_migrations WHERE version = ?', [MIGRATION[engine]]);
      } finally {
        await sql.close();
      }
      const old = await storedSpecs(cp);
      expect(old).toHaveLength(3);
      for (const spec of old) expect(JSON.parse(spec).additional_headers).toEqual({ Authorization: MASK, 'X-Key': MASK, 'X-File': MASK });

      cp = await startTestControlPlane({ dataDir: cp.dataDir, args: ARGS });
      const { got, list, revision } = await answers(cp);
      expect(got.json.data.manifest.additional_headers).toEqual(shown);
      expect(got.json.data.manifest.description).toBe('generation 2');
      expect(list.json.data.find((s: { name: string }) => s.name === 'old-refs').manifest.additional_headers).toEqual(shown);
      expect(revision.json.data.manifest.additional_headers).toEqual(shown);
      const repaired = await storedSpecs(cp);
      for (const spec of repaired) expect(JSON.parse(spec).additional_headers).toEqual(shown);
      for (const spec of repaired) expect(spec).not.toContain(CANARY);

      // Sending back what was read keeps every value (the masked one included): no change, no new generation.
      const again = await cp.api(API, { method: 'PUT', body: { manifest: got.json.data.manifest } });
      expect(again.status).toBe(200);
      expect(again.json.data.generation).toBe(2);

      // Idempotent: a second open leaves the stored specs and the answer as they were, and so does the pass run again.
      await cp.stop();
      cp = await startTestControlPlane({ dataDir: cp.dataDir, args: ARGS });
      expect(await storedSpecs(cp)).toEqual(repaired);
      await cp.stop();
      const reset = await openStoreSql(cp.config);
      await reset.all('control-plane', "UPDATE counters SET value = 0 WHERE name = 'references_shown'");
      await reset.close();
      cp = await startTestControlPlane({ dataDir: cp.dataDir, args: ARGS });
      expect(await storedSpecs(cp)).toEqual(repaired);
      expect((await answers(cp)).got.json.data.manifest.additional_headers).toEqual(shown);
    });
  });
}
