// Per-token rate limit on writes: a token bucket per subject (each token authenticates one subject).
// A bucket holds `count` writes and refills continuously at count per `perMs`; a write finding it empty
// is refused with TooManyRequestsError (429 with Retry-After: whole seconds until one write is available).
// Reads are not limited. One instance serves every API, so a token has one budget.
import type { RequestHandler } from 'express';
import { systemClock, type Clock } from '../domain/clock.js';
import { principalOf } from './authenticate.js';
import { TooManyRequestsError } from '../domain/errors.js';

const WRITE_METHODS = new Set(['PUT', 'POST', 'PATCH', 'DELETE']);
/** Past this many buckets, full ones (idle callers) are dropped; they would be full again anyway. */
const PRUNE_ABOVE = 10_000;

export interface WriteRateLimitOptions {
  count: number;
  perMs: number;
  clock?: Clock;
}

interface Bucket {
  tokens: number;
  at: number;
}

export function writeRateLimit(options: WriteRateLimitOptions): RequestHandler {
  const clock = options.clock ?? systemClock;
  const ratePerMs = options.count / options.perMs;
  const buckets = new Map<string, Bucket>();

  const refill = (b: Bucket, now: number) => {
    b.tokens = Math.min(options.count, b.tokens + (now - b.at) * ratePerMs);
    b.at = now;
  };

  return (req, res, next) => {
    if (!WRITE_METHODS.has(req.method)) return next();
    const key = principalOf(req).subject.subjectId;
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
      return next();
    }
    const retryAfterS = Math.max(1, Math.ceil((1 - bucket.tokens) / ratePerMs / 1000));
    res.setHeader('Retry-After', String(retryAfterS));
    // An error, not an answer: each API's error handler gives it that API's envelope.
    next(
      new TooManyRequestsError(
        `Too many writes with this token (limit ${options.count} per ${options.perMs / 1000} s); retry in ${retryAfterS} s.`,
        retryAfterS,
      ),
    );
  };
}
