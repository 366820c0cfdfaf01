// The one poll of the test suite: a condition is asked again until it holds or its deadline passes.
// Tests wait on the state they expect, never on a fixed sleep.

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
