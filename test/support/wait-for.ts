// The one poll of the test suite: a condition is asked again until it holds or its deadline passes.
// Tests wait on the state they expect, never on a fixed sleep. No imports: test/store/postgres-harness copies
// this file into a child process of its own.

/** Calls fn until it answers a truthy value (answered), or throws naming `what` once timeoutMs (default 10 s) has passed. */
export async function waitFor<T>(fn: () => T | Promise<T>, options: { timeoutMs?: number; what?: string } = {}): Promise<NonNullable<T>> {
  const deadline = Date.now() + (options.timeoutMs ?? 10_000);
  let last: T | undefined;
  for (;;) {
    last = await fn();
    if (last) return last as NonNullable<T>;
    if (Date.now() > deadline) {
      throw new Error(`Timed out waiting for ${options.what ?? 'condition'}; last value: ${JSON.stringify(last)}`);
    }
    await new Promise((r) => setTimeout(r, 10));
  }
}

/**
 * Polls a count until it reaches `target`. Work that is slow but going on is waited for; the wait fails,
 * naming `what` and the count, once the count has not grown for `stallMs` (the work stopped). For work
 * whose length is the subject (thousands of items on a busy machine), where a fixed deadline either
 * fails a slow run or waits far too long for a stuck one.
 */
export async function waitForProgress(
  count: () => number | Promise<number>,
  target: number,
  options: { stallMs: number; what: string; intervalMs?: number; clock?: { now(): number } },
): Promise<void> {
  const clock = options.clock ?? Date;
  let best = -Infinity;
  let movedAt = clock.now();
  for (;;) {
    const now = await count();
    if (now >= target) return;
    if (now > best) {
      best = now;
      movedAt = clock.now();
    } else if (clock.now() - movedAt > options.stallMs) {
      throw new Error(`Timed out waiting for ${options.what}: ${now} of ${target}, no progress for ${options.stallMs} ms`);
    }
    await new Promise((r) => setTimeout(r, options.intervalMs ?? 50));
  }
}
