// What the PostgreSQL stores keep at rest: every secret sealed (no table and no NOTIFY payload holds one in
// clear), values stored in clear before encryption sealed by resealSecrets, a wrong key refused at once,
// and views rendered again when a store opens on views of another format or on rows an older build wrote.
import { randomBytes } from 'node:crypto';
import type pg from 'pg';
import { resourceViews } from '../../src/http/resource-view.js';
import { AesGcmSecretCodec, SecretKeyError } from '../../src/store/secret-codec.js';
import { migrate, PostgresDatabase, PostgresGatewayStore, PostgresResourceStore } from '../../src/store/postgres/index.js';
import type { SecretCodec, ViewRenderer } from '../../src/store/index.js';
import { FakeClock } from '../support/fake-clock.js';
import { waitFor } from '../support/wait-for.js';
import { POSTGRES_START_TIMEOUT_MS, requirePostgres, testPostgres } from '../support/postgres.js';
import { fqnOf, gatewayEntry, newResource, readyStatus, SECRET, updateOf } from './conformance/fixtures.js';

const { describe } = requirePostgres();

describe('PostgreSQL stores at rest', () => {
  beforeAll(() => testPostgres(), POSTGRES_START_TIMEOUT_MS);
  const clock = new FakeClock(Date.parse('2026-01-01T00:00:00Z'));
  let url: string;
  const databases: PostgresDatabase[] = [];
  const closing: { close(): Promise<void> }[] = [];

  async function open(options: { codec?: SecretCodec; views?: ViewRenderer } = {}) {
    const database = await PostgresDatabase.open(url, { max: 4 });
    databases.push(database);
    const codec = options.codec ? { secretCodec: options.codec } : {};
    const resources = await PostgresResourceStore.open({ database, views: options.views ?? resourceViews, clock, ...codec });
    const gateway = await PostgresGatewayStore.open({ database, clock, ...codec });
    closing.push(resources, gateway);
    return { database, resources, gateway };
  }

  /** Every text of every table of the schema, as stored. */
  async function everything(db: pg.Pool): Promise<string> {
    const tables = ['resources', 'changelog', 'events', 'gateway_entries', 'source_files'];
    const texts = await Promise.all(tables.map(async (t) => JSON.stringify((await db.query(`SELECT * FROM ${t}`)).rows)));
    return texts.join('\n');
  }

  beforeEach(async () => {
    url = (await (await testPostgres()).freshSchema()).url;
    const database = await PostgresDatabase.open(url, { max: 1 });
    await migrate(database.pool);
    await database.close();
  });
  afterEach(async () => {
    for (const c of closing.splice(0)) await c.close();
    for (const d of databases.splice(0)) await d.close();
  });

  it('no table and no NOTIFY payload holds a secret in clear', async () => {
    const { database, resources, gateway } = await open({ codec: new AesGcmSecretCodec(randomBytes(32)) });
    const payloads: string[] = [];
    const listener = await database.pool.connect();
    try {
      listener.on('notification', (m) => payloads.push(m.payload ?? ''));
      await listener.query(`LISTEN ${listener.escapeIdentifier(database.channel)}`);
      await resources.create(newResource('a'));
      await resources.update(fqnOf('a'), updateOf('a', 2));
      await resources.setStatus(fqnOf('a'), readyStatus(2));
      await gateway.apply(gatewayEntry('a', 2, 'gateway-secret'));
      await waitFor(() => payloads.length >= 4, { what: 'the notifications of four writes' });
    } finally {
      listener.release();
    }
    const stored = await everything(database.pool);
    expect(stored).toContain('aes256gcm:v1:');
    for (const secret of [SECRET, 's3cret-value', 'gateway-secret']) {
      expect(stored).not.toContain(secret);
      expect(payloads.join('\n')).not.toContain(secret);
    }
    // And they read back whole.
    expect((await resources.get(fqnOf('a')))!.manifest).toMatchObject({ auth_data: { headers: { Authorization: SECRET } } });
    expect((await gateway.get(fqnOf('a')))!.headers).toEqual({ Authorization: 'Bearer gateway-secret' });
  });

  it('resealSecrets seals what was stored in clear, and a store opened with another key is refused', async () => {
    const plain = await open();
    await plain.resources.create(newResource('a'));
    await plain.gateway.apply(gatewayEntry('a'));
    expect(await everything(plain.database.pool)).toContain('s3cret-value');
    const codec = new AesGcmSecretCodec(randomBytes(32));
    const sealed = await open({ codec });
    expect(await sealed.resources.resealSecrets()).toBe(1); // the row (its current revision reads the row's secrets)
    expect(await sealed.gateway.resealSecrets()).toBe(1);
    expect(await everything(sealed.database.pool)).not.toContain('s3cret-value');
    expect((await sealed.resources.get(fqnOf('a')))!.manifest).toMatchObject({ auth_data: { headers: { Authorization: SECRET } } });
    expect(await sealed.resources.resealSecrets()).toBe(0);
    const wrong = await open({ codec: new AesGcmSecretCodec(randomBytes(32)) });
    await expect(wrong.resources.resealSecrets()).rejects.toThrow(SecretKeyError);
    await expect(wrong.gateway.resealSecrets()).rejects.toThrow(SecretKeyError);
  });

  it('a store opened on views of another format renders every view again; on rows an older build wrote, those', async () => {
    const first = await open();
    await first.resources.create(newResource('a'));
    await first.resources.create(newResource('b'));
    const viewOf = async (name: string) => (await first.database.pool.query('SELECT view FROM resources WHERE name = $1', [name])).rows[0].view as string;
    const before = await viewOf('a');
    // Another format: every row again, and the format recorded.
    const next: ViewRenderer = { format: resourceViews.format + 1, render: (stored, status, rv) => `v2:${resourceViews.render(stored, status, rv)}` };
    await open({ views: next });
    expect(await viewOf('a')).toBe(`v2:${before}`);
    expect((await viewOf('b')).startsWith('v2:')).toBe(true);
    // The same format: only a row whose view is of another resourceVersion (an older build's write).
    await first.database.pool.query("UPDATE resources SET view = 'stale', view_rv = NULL WHERE name = 'a'");
    await first.database.pool.query("UPDATE resources SET view = 'current' WHERE name = 'b'");
    await open({ views: next });
    expect(await viewOf('a')).toBe(`v2:${before}`);
    expect(await viewOf('b')).toBe('current');
  });
});
