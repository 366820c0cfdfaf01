// The lease row in PostgreSQL: who leads, since when, and under which epoch. Every time is the database
// clock's, so replicas with skewed clocks agree on when a lease expires. Each operation is one statement.
//
// - acquireLease: a candidate takes a lease that is released, expired, or still its own from before it
//   stepped down; the epoch grows by one. The first acquirer of a name creates its row (epoch 1).
// - renewLease: the holder of the epoch renews (even when its lease ran out: nobody took it).
// - releaseLease: the holder of the epoch gives it up (holder NULL), so another takes over without waiting.
// The duration is the holder's own (stored in the row), so the replicas agree on the expiry of the lease
// as held.
//
// Taking over changes the epoch (a key of the row), so it waits for every open leader transaction that
// fenced on it (FOR KEY SHARE, see fence.ts): a takeover never commits while the previous leader can still
// commit a write. Renewing and releasing set no key column, so they do not wait for those. A candidate's
// try on a lease held and unexpired matches no row and locks nothing.
import type { Queryable } from '../store/postgres/connection.js';

/** The one held lease a leader's transactions are fenced on. */
export interface LeaseToken {
  name: string;
  holder: string;
  epoch: number;
}

export interface LeaseRecord {
  name: string;
  /** null: released. */
  holder: string | null;
  epoch: number;
  durationMs: number;
  acquiredAt: Date;
  renewedAt: Date;
  /** By the database clock, now. */
  expired: boolean;
}

/** Takes the lease for `holder` when it is free (see above); answers the new epoch, or undefined. */
export async function acquireLease(db: Queryable, lease: { name: string; holder: string; durationMs: number }): Promise<number | undefined> {
  const { rows } = await db.query<{ epoch: number }>(
    `WITH taken AS (
       UPDATE leases SET holder = $2, epoch = epoch + 1, duration_ms = $3,
         acquired_at = statement_timestamp(), renewed_at = statement_timestamp()
       WHERE name = $1
         AND (holder IS NULL OR holder = $2 OR renewed_at + duration_ms * interval '1 millisecond' <= statement_timestamp())
       RETURNING epoch
     ), created AS (
       INSERT INTO leases (name, holder, epoch, duration_ms, acquired_at, renewed_at)
       SELECT $1, $2, 1, $3, statement_timestamp(), statement_timestamp()
       WHERE NOT EXISTS (SELECT 1 FROM leases WHERE name = $1)
       ON CONFLICT (name) DO NOTHING
       RETURNING epoch
     )
     SELECT epoch FROM taken UNION ALL SELECT epoch FROM created`,
    [lease.name, lease.holder, lease.durationMs],
  );
  return rows[0]?.epoch;
}

/** Renews the lease `token` holds; answers false when it no longer holds it. */
export async function renewLease(db: Queryable, token: LeaseToken, durationMs: number): Promise<boolean> {
  const { rowCount } = await db.query(
    'UPDATE leases SET renewed_at = statement_timestamp(), duration_ms = $4 WHERE name = $1 AND holder = $2 AND epoch = $3',
    [token.name, token.holder, token.epoch, durationMs],
  );
  return (rowCount ?? 0) > 0;
}

/** Gives the lease up when `token` still holds it; answers whether it did. */
export async function releaseLease(db: Queryable, token: LeaseToken): Promise<boolean> {
  const { rowCount } = await db.query(
    'UPDATE leases SET holder = NULL, renewed_at = statement_timestamp() WHERE name = $1 AND holder = $2 AND epoch = $3',
    [token.name, token.holder, token.epoch],
  );
  return (rowCount ?? 0) > 0;
}

export async function readLease(db: Queryable, name: string): Promise<LeaseRecord | undefined> {
  const { rows } = await db.query<{
    name: string; holder: string | null; epoch: number; duration_ms: number; acquired_at: Date; renewed_at: Date; expired: boolean;
  }>(
    `SELECT name, holder, epoch, duration_ms, acquired_at, renewed_at,
       renewed_at + duration_ms * interval '1 millisecond' <= clock_timestamp() AS expired
     FROM leases WHERE name = $1`,
    [name],
  );
  const r = rows[0];
  return r && {
    name: r.name,
    holder: r.holder,
    epoch: r.epoch,
    durationMs: r.duration_ms,
    acquiredAt: r.acquired_at,
    renewedAt: r.renewed_at,
    expired: r.expired,
  };
}
