// The secret key canary's table is migration 5. A database whose canary table the cluster code made itself
// (before that migration) migrates without losing its canary: the key that sealed it still opens it, and
// another key is still refused.
import { randomBytes } from 'node:crypto';
import type pg from 'pg';
import { checkSecretKeyCanary, SecretKeyMismatchError } from '../../src/cluster/key-check.js';
import { connect } from '../../src/store/postgres/connection.js';
import { migrate, postgresMigrations } from '../../src/store/postgres/migrations.js';
import { AesGcmSecretCodec } from '../../src/store/secret-codec.js';
import { POSTGRES_START_TIMEOUT_MS, requirePostgres, testPostgres } from '../support/postgres.js';

const { describe } = requirePostgres();

describe('the secret key canary table, a numbered migration', () => {
  beforeAll(() => testPostgres(), POSTGRES_START_TIMEOUT_MS);
  let db: pg.Pool;
  beforeEach(async () => {
    db = connect((await (await testPostgres()).freshSchema()).url);
  });
  afterEach(() => db.end());

  it('is made by migrate, not by the check', async () => {
    await expect(checkSecretKeyCanary(db, new AesGcmSecretCodec(randomBytes(32)))).rejects.toThrow(/secret_key_canary/);
    await migrate(db);
    expect(await checkSecretKeyCanary(db, new AesGcmSecretCodec(randomBytes(32)))).toBe('created');
  });

  it('keeps a canary the cluster code stored before the migration existed', async () => {
    const before = postgresMigrations.filter((m) => m.name.indexOf('secret key canary') < 0);
    await migrate(db, before);
    // As the cluster code made it before migration 5.
    await db.query(`CREATE TABLE secret_key_canary (
      id INTEGER PRIMARY KEY CHECK (id = 1), sealed TEXT NOT NULL, created_at TIMESTAMPTZ NOT NULL DEFAULT now())`);
    const key = randomBytes(32);
    expect(await checkSecretKeyCanary(db, new AesGcmSecretCodec(key))).toBe('created');
    const { to } = await migrate(db);
    expect(to).toBe(Math.max(...postgresMigrations.map((m) => m.version)));
    expect(await checkSecretKeyCanary(db, new AesGcmSecretCodec(Buffer.from(key)))).toBe('matched');
    await expect(checkSecretKeyCanary(db, new AesGcmSecretCodec(randomBytes(32)))).rejects.toBeInstanceOf(SecretKeyMismatchError);
  });
});
