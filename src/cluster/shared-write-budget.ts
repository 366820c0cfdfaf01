// The write rate limit shared by every replica (PostgreSQL mode): each token subject's bucket is one row of
// write_rate_limits, so a token has one budget across the cluster, whichever replica its writes reach.
//
// The bucket is kept as GCRA (the generic cell rate algorithm), which is the token bucket of
// src/http/rate-limit.ts in one number: its theoretical arrival time `tat`. Each write moves tat by one
// interval (perMs / count) from max(tat, now); it is granted while tat - now stays within perMs (a burst
// of count), else refused, changing nothing, until tat - now is back within it. One statement, one round
// trip, outside the write's unit of work: the row is locked only for that statement, and never while the
// writer lock (the resourceVersion counter) is held. Time is this replica's clock (`now`), as the
// per-process bucket's.
import type pg from 'pg';
import { systemClock, type Clock } from '../domain/clock.js';
import type { WriteBudget, WriteRate } from '../http/rate-limit.js';
import { prepared } from '../store/postgres/prepared.js';

// $1 subject, $2 now, $3 the interval, $4 the burst window (perMs). `before` reads the row as it was
// before this statement (one snapshot): the refusal's Retry-After.
const TAKE = prepared('write_budget_take', `WITH took AS (
    INSERT INTO write_rate_limits AS w (subject, tat) VALUES ($1, $2::float8 + $3::float8)
    ON CONFLICT (subject) DO UPDATE SET tat = GREATEST(w.tat, $2::float8) + $3::float8
      WHERE GREATEST(w.tat, $2::float8) + $3::float8 - $2::float8 <= $4::float8
    RETURNING tat)
  SELECT (SELECT tat FROM took) AS granted, (SELECT tat FROM write_rate_limits WHERE subject = $1) AS before`);

export function sharedWriteBudget(pool: Pick<pg.Pool, 'query'>, rate: WriteRate, clock: Clock = systemClock): WriteBudget {
  const interval = rate.perMs / rate.count;
  return {
    async take(subject) {
      const now = clock.now();
      const { rows } = await pool.query<{ granted: number | null; before: number | null }>(TAKE([subject, now, interval, rate.perMs]));
      const row = rows[0]!;
      if (row.granted !== null) return { granted: true };
      // Refused: one write is available once tat + interval - now is back within perMs.
      const waitMs = (row.before ?? now) + interval - now - rate.perMs;
      return { retryAfterS: Math.max(1, Math.ceil(waitMs / 1000)) };
    },
  };
}

/**
 * Removes the rows of full buckets (tat in the past: a subject idle for at least perMs), which answer as a
 * missing row does. Leader housekeeping, so the table holds only recently active subjects.
 */
export async function pruneFullWriteBudgets(pool: Pick<pg.Pool, 'query'>, now: number): Promise<number> {
  const { rowCount } = await pool.query('DELETE FROM write_rate_limits WHERE tat < $1::float8', [now]);
  return rowCount ?? 0;
}
