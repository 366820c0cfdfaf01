// Per-user credentials and OAuth states on PostgreSQL: two tables of the one schema (so the reconciler's
// dropCredentials joins its unit), the same rows as SQLite's (credential-rows.ts). Writes take the writer
// lock of the unit they run in (units.ts), like every other write.
import { isoTime, systemClock, type Clock } from '../../domain/clock.js';
import { credentialColumns, credentialOfRow, sealValues, stateOfRow, type CredentialRow, type StateRow } from '../credential-rows.js';
import type { Credential, CredentialKind, CredentialStore, OAuthState, StoredCredential } from '../credential-store.js';
import { plainSecretCodec, type SecretCodec } from '../secret-codec.js';
import type { PostgresDatabase } from './database.js';
import { resealColumn } from './sealed-columns.js';
import type { Fence, Units } from './units.js';

export interface PostgresCredentialStoreOptions {
  database: PostgresDatabase;
  clock?: Clock;
  secretCodec?: SecretCodec;
  /** Run at the start of every transaction of this object that writes (see units.ts). */
  fence?: Fence;
}

export class PostgresCredentialStore implements CredentialStore {
  private readonly units: Units;
  private readonly clock: Clock;
  private readonly codec: SecretCodec;
  private readonly fence: Fence | undefined;

  constructor(options: PostgresCredentialStoreOptions) {
    this.units = options.database.units;
    this.clock = options.clock ?? systemClock;
    this.codec = options.secretCodec ?? plainSecretCodec;
    this.fence = options.fence;
  }

  async getCredential(fqn: string, subject: string, kind: CredentialKind): Promise<StoredCredential | undefined> {
    const { rows } = await this.units.reader().query<CredentialRow>('SELECT * FROM credentials WHERE fqn = $1 AND subject = $2 AND kind = $3', [fqn, subject, kind]);
    return rows[0] && credentialOfRow(rows[0], this.codec);
  }

  async putCredential(c: Credential): Promise<void> {
    const { secrets, data } = credentialColumns(c, this.codec);
    await this.units.write(this.fence, (client) =>
      client.query(
        `INSERT INTO credentials (fqn, subject, kind, secrets, data, binding, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (fqn, subject, kind) DO UPDATE SET secrets = excluded.secrets, data = excluded.data,
           binding = excluded.binding, updated_at = excluded.updated_at`,
        [c.fqn, c.subject, c.kind, secrets, data, c.binding, isoTime(this.clock.now())],
      ),
    );
  }

  async listCredentials(fqn: string, kind: CredentialKind, limit: number): Promise<StoredCredential[]> {
    const { rows } = await this.units
      .reader()
      .query<CredentialRow>(`SELECT * FROM credentials WHERE fqn = $1 AND kind = $2 AND subject <> '' ORDER BY updated_at DESC, subject COLLATE "C" LIMIT $3`, [fqn, kind, limit]);
    return rows.map((row) => credentialOfRow(row, this.codec));
  }

  deleteCredential(fqn: string, subject: string, kind: CredentialKind): Promise<boolean> {
    return this.units.write(this.fence, async (client) => ((await client.query('DELETE FROM credentials WHERE fqn = $1 AND subject = $2 AND kind = $3', [fqn, subject, kind])).rowCount ?? 0) > 0);
  }

  dropCredentials(fqn: string, keepBinding?: string): Promise<number> {
    return this.units.write(this.fence, async (client) => {
      const dropped =
        keepBinding === undefined
          ? (await client.query('DELETE FROM credentials WHERE fqn = $1', [fqn])).rowCount ?? 0
          : (await client.query('DELETE FROM credentials WHERE fqn = $1 AND binding <> $2', [fqn, keepBinding])).rowCount ?? 0;
      if (keepBinding === undefined || dropped > 0) await client.query('DELETE FROM oauth_states WHERE fqn = $1', [fqn]);
      return dropped;
    });
  }

  async putState(state: OAuthState, now: number): Promise<void> {
    await this.units.write(this.fence, async (client) => {
      await client.query('DELETE FROM oauth_states WHERE expires_at <= $1', [now]);
      await client.query(
        `INSERT INTO oauth_states (id, fqn, subject, secrets, data, expires_at) VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (id) DO UPDATE SET fqn = excluded.fqn, subject = excluded.subject, secrets = excluded.secrets, data = excluded.data, expires_at = excluded.expires_at`,
        [state.id, state.fqn, state.subject, sealValues(state.secrets, this.codec), JSON.stringify(state.data), state.expiresAt],
      );
    });
  }

  takeState(id: string): Promise<OAuthState | undefined> {
    return this.units.write(this.fence, async (client) => {
      const { rows } = await client.query<StateRow>('DELETE FROM oauth_states WHERE id = $1 RETURNING *', [id]);
      return rows[0] && stateOfRow(rows[0], this.codec);
    });
  }

  /** Seals values stored in clear before encryption; checks the key (see resealColumn). Answers the rows rewritten. */
  resealSecrets(): Promise<number> {
    return this.units.write(this.fence, async (client) => (await resealColumn(client, 'credentials', 'secrets', this.codec)) + (await resealColumn(client, 'oauth_states', 'secrets', this.codec)));
  }
}
