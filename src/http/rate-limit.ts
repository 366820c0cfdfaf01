// Per-token rate limit on writes: a token bucket per subject (each token authenticates one subject).
// A bucket holds `count` writes and refills continuously at count per `perMs`; a write finding it empty
// is refused with TooManyRequestsError (429 with Retry-After: whole seconds until one write is available).
// Reads are not limited. One instance serves every API, so a token has one budget.
//
// Where the buckets live is a WriteBudget: in this process's memory (the default: one budget per
// process), or shared by every replica of a cluster (src/cluster/shared-write-budget.ts, in PostgreSQL).
import type { RequestHandler } from 'express';
import { systemClock, type Clock } from '../domain/clock.js';
import { principalOf } from './authenticate.js';
import { TooManyRequestsError } from '../domain/errors.js';

const WRITE_METHODS = new Set(['PUT', 'POST', 'PATCH', 'DELETE']);
/** Past this many buckets, full ones (idle callers) are dropped; they would be full again anyway. */
const PRUNE_ABOVE = 10_000;

export interface WriteRate {
  count: number;
  perMs: number;
}

/** Takes one write from a subject's bucket: granted, or refused with the whole seconds until one is available (at least 1). */
export interface WriteBudget {
  take(subject: string): { granted: true } | { retryAfterS: number } | Promise<{ granted: true } | { retryAfterS: number }>;
}

export interface WriteRateLimitOptions extends WriteRate {
  clock?: Clock;
  /** Where the buckets live; default: this process's memory (memoryWriteBudget). */
  budget?: WriteBudget;
}

interface Bucket {
  tokens: number;
  at: number;
}

/** The buckets in this process's memory. */
export function memoryWriteBudget(options: WriteRate & { clock?: Clock }): WriteBudget {
  const clock = options.clock ?? systemClock;
  const ratePerMs = options.count / options.perMs;
  const buckets = new Map<string, Bucket>();

  const refill = (b: Bucket, now: number) => {
    b.tokens = Math.min(options.count, b.tokens + (now - b.at) * ratePerMs);
    b.at = now;
  };

  return {
    take(key) {
      const now = clock.now();
      let bucket = buckets.get(key);
      if (!bucket) {
        if (buckets.size >= PRUNE_ABOVE) {
          for (const [k, b] of buckets) {
            refill(b, now);
            if (b.tokens >= options.count) buckets.delete(k);
          }
        }
        bucket = { tokens: options.count, at: now };
        buckets.set(key, bucket);
      }
      refill(bucket, now);
      if (bucket.tokens >= 1) {
        bucket.tokens -= 1;
        return { granted: true };
      }
      return { retryAfterS: Math.max(1, Math.ceil((1 - bucket.tokens) / ratePerMs / 1000)) };
    },
  };
}

export function writeRateLimit(options: WriteRateLimitOptions): RequestHandler {
  const budget = options.budget ?? memoryWriteBudget(options);
  const refuse = (retryAfterS: number) => {
    // An error, not an answer: each API's error handler gives it that API's envelope.
    return new TooManyRequestsError(
      `Too many writes with this token (limit ${options.count} per ${options.perMs / 1000} s); retry in ${retryAfterS} s.`,
      retryAfterS,
    );
  };
  return (req, res, next) => {
    if (!WRITE_METHODS.has(req.method)) return next();
    const answered = (taken: { granted: true } | { retryAfterS: number }) => {
      if ('granted' in taken) return next();
      res.setHeader('Retry-After', String(taken.retryAfterS));
      next(refuse(taken.retryAfterS));
    };
    let taken;
    try {
      taken = budget.take(principalOf(req).subject.subjectId);
    } catch (err) {
      return next(err);
    }
    // A shared budget's store failing fails the write (it could not be stored either).
    if (taken instanceof Promise) taken.then(answered, next);
    else answered(taken);
  };
}
