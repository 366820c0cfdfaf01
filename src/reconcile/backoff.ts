// Per-key exponential backoff, as client-go's ItemExponentialFailureRateLimiter computes it.

export interface BackoffPolicy {
  /** Delay of the first retry. */
  baseDelayMs: number;
  /** No retry waits longer than this. */
  maxDelayMs: number;
  /**
   * Injected randomness in [0, 1). When given, a delay is shortened by up to JITTER_RATIO of itself,
   * so keys that failed together (the gateway was down) do not all retry in the same instant, even at
   * the cap. Jitter only ever shortens: a delay never exceeds maxDelayMs.
   */
  jitter?: () => number;
}

export const JITTER_RATIO = 0.1;

/**
 * The delay before the next retry of a key that has already failed `failures` times before this
 * failure: base * 2^failures, capped at max. failures = 0 → base, 1 → 2·base, 2 → 4·base, ...
 */
export function backoffDelay(failures: number, policy: BackoffPolicy): number {
  const { baseDelayMs, maxDelayMs, jitter } = policy;
  // 2 ** 1024 is Infinity, which Math.min handles; the clamp only keeps the exponent sane.
  const exponential = baseDelayMs * 2 ** Math.min(Math.max(failures, 0), 1023);
  const capped = Math.min(exponential, maxDelayMs);
  if (!jitter) return capped;
  const r = Math.min(Math.max(jitter(), 0), 1);
  return Math.floor(capped * (1 - JITTER_RATIO * r));
}
