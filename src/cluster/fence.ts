// Fencing: every transaction the leader runs calls fence() before it commits (best first). It fails the
// transaction with FencedError unless the lease still has this holder and epoch and has not run out (by
// the database clock), and otherwise holds the lease row FOR KEY SHARE until the transaction ends. A
// takeover changes the epoch, a key of the row (see the leases table), so it waits for that lock: no write
// of an old leader commits after a new leader started. A renewal changes no key and does not wait, so the
// leader's own open transactions never delay its renewals. A paused old leader that wakes up finds
// another epoch and writes nothing.
//
// The row lock is why the idle-in-transaction timeout stays below the lease (see connection.ts): a frozen
// leader's open transaction is ended by the server before its lease could be taken over.
import type { Queryable } from '../store/postgres/connection.js';
import type { LeaseToken } from './lease.js';

/** The transaction is not the current leader's: it must roll back (and its replica stop leading). */
export class FencedError extends Error {
  constructor(
    readonly token: LeaseToken,
    message = `Lease "${token.name}" is no longer held by ${token.holder} at epoch ${token.epoch}: this replica is not the leader, its write is refused`,
  ) {
    super(message);
    this.name = 'FencedError';
  }
}

export async function fence(client: Queryable, token: LeaseToken): Promise<void> {
  const { rowCount } = await client.query(
    `SELECT 1 FROM leases WHERE name = $1 AND holder = $2 AND epoch = $3
       AND renewed_at + duration_ms * interval '1 millisecond' > clock_timestamp()
     FOR KEY SHARE`,
    [token.name, token.holder, token.epoch],
  );
  if (!rowCount) throw new FencedError(token);
}
