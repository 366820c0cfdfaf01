// Per-user credentials and OAuth states on SQLite: two tables of gateway.db, on the gateway store's
// connection and its units of work (SqliteGatewayStore.credentials). Secret values sealed (credential-rows.ts).
import type Database from 'better-sqlite3';
import { isoTime, type Clock } from '../../domain/clock.js';
import { credentialColumns, credentialOfRow, sealValues, stateOfRow, type CredentialRow, type StateRow } from '../credential-rows.js';
import type { Credential, CredentialKind, CredentialStore, OAuthState, StoredCredential } from '../credential-store.js';
import type { SecretCodec } from '../secret-codec.js';
import { resealColumn } from './sealed-columns.js';
import type { SqliteUnits } from './units.js';

export const credentialsMigrationSql = `
  CREATE TABLE credentials (
    fqn TEXT NOT NULL,
    subject TEXT NOT NULL,
    kind TEXT NOT NULL,
    secrets TEXT NOT NULL,
    data TEXT NOT NULL,
    binding TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (fqn, subject, kind)
  );
  CREATE TABLE oauth_states (
    id TEXT PRIMARY KEY,
    fqn TEXT NOT NULL,
    subject TEXT NOT NULL,
    secrets TEXT NOT NULL,
    data TEXT NOT NULL,
    expires_at INTEGER NOT NULL
  );
  CREATE INDEX oauth_states_expires_at ON oauth_states (expires_at);
  CREATE INDEX oauth_states_fqn ON oauth_states (fqn);
`;

export class SqliteCredentialStore implements CredentialStore {
  private readonly stmt;

  constructor(
    private readonly db: Database.Database,
    private readonly units: SqliteUnits,
    private readonly codec: SecretCodec,
    private readonly clock: Clock,
  ) {
    this.stmt = {
      get: db.prepare('SELECT * FROM credentials WHERE fqn = ? AND subject = ? AND kind = ?'),
      put: db.prepare(`INSERT INTO credentials (fqn, subject, kind, secrets, data, binding, updated_at)
        VALUES (@fqn, @subject, @kind, @secrets, @data, @binding, @updated_at)
        ON CONFLICT (fqn, subject, kind) DO UPDATE SET secrets = excluded.secrets, data = excluded.data,
          binding = excluded.binding, updated_at = excluded.updated_at`),
      list: db.prepare("SELECT * FROM credentials WHERE fqn = ? AND kind = ? AND subject <> '' ORDER BY updated_at DESC, subject LIMIT ?"),
      delete: db.prepare('DELETE FROM credentials WHERE fqn = ? AND subject = ? AND kind = ?'),
      dropAll: db.prepare('DELETE FROM credentials WHERE fqn = ?'),
      dropOther: db.prepare('DELETE FROM credentials WHERE fqn = ? AND binding <> ?'),
      dropStates: db.prepare('DELETE FROM oauth_states WHERE fqn = ?'),
      putState: db.prepare(`INSERT OR REPLACE INTO oauth_states (id, fqn, subject, secrets, data, expires_at)
        VALUES (@id, @fqn, @subject, @secrets, @data, @expires_at)`),
      pruneStates: db.prepare('DELETE FROM oauth_states WHERE expires_at <= ?'),
      takeState: db.prepare('DELETE FROM oauth_states WHERE id = ? RETURNING *'),
    };
  }

  getCredential(fqn: string, subject: string, kind: CredentialKind): Promise<StoredCredential | undefined> {
    return this.units.call(() => {
      const row = this.stmt.get.get(fqn, subject, kind) as CredentialRow | undefined;
      return row && credentialOfRow(row, this.codec);
    });
  }

  putCredential(c: Credential): Promise<void> {
    return this.units.call(() => {
      this.stmt.put.run({ fqn: c.fqn, subject: c.subject, kind: c.kind, ...credentialColumns(c, this.codec), binding: c.binding, updated_at: isoTime(this.clock.now()) });
    });
  }

  listCredentials(fqn: string, kind: CredentialKind, limit: number): Promise<StoredCredential[]> {
    return this.units.call(() => (this.stmt.list.all(fqn, kind, limit) as CredentialRow[]).map((row) => credentialOfRow(row, this.codec)));
  }

  deleteCredential(fqn: string, subject: string, kind: CredentialKind): Promise<boolean> {
    return this.units.call(() => this.stmt.delete.run(fqn, subject, kind).changes > 0);
  }

  dropCredentials(fqn: string, keepBinding?: string): Promise<number> {
    return this.units.call(() =>
      this.db.transaction(() => {
        const dropped = keepBinding === undefined ? this.stmt.dropAll.run(fqn).changes : this.stmt.dropOther.run(fqn, keepBinding).changes;
        if (keepBinding === undefined || dropped > 0) this.stmt.dropStates.run(fqn);
        return dropped;
      })(),
    );
  }

  putState(state: OAuthState, now: number): Promise<void> {
    return this.units.call(() =>
      this.db.transaction(() => {
        this.stmt.pruneStates.run(now);
        this.stmt.putState.run({ id: state.id, fqn: state.fqn, subject: state.subject, secrets: sealValues(state.secrets, this.codec), data: JSON.stringify(state.data), expires_at: state.expiresAt });
      })(),
    );
  }

  takeState(id: string): Promise<OAuthState | undefined> {
    return this.units.call(() => {
      const row = this.stmt.takeState.get(id) as StateRow | undefined;
      return row && stateOfRow(row, this.codec);
    });
  }

  /** Seals values stored in clear before encryption; checks the key (see resealColumn). Answers the rows rewritten. */
  resealNow(): number {
    return resealColumn(this.db, 'credentials', 'rowid', 'secrets', this.codec) + resealColumn(this.db, 'oauth_states', 'id', 'secrets', this.codec);
  }
}
