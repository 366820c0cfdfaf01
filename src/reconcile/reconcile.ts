// The reconcile contract, as controller-runtime keeps it in reconcile.go: what a reconciler is handed,
// what it answers, and what its errors mean to the controller that runs it (controller.ts).
//
// What a reconcile's outcome means:
// - returns nothing / {}          → success: the key's backoff is reset (forget).
// - returns { requeueAfterMs }    → success, run again after that long (forget + addAfter).
// - throws an ordinary error      → retry with per-key exponential backoff (addRateLimited).
// - throws ReconcileError         → the same retry, with a PascalCase reason for the Ready condition.
// - throws TerminalError          → no retry (forget); the key runs again only when something adds it.
// - returns { failed: err }       → as if it threw err, but what it wrote (a status saying why) commits.
// In every case the key is done() afterwards, so adds that arrived during the run cause one more run.

export interface ReconcileResult {
  /** Run this key again after this many ms (0 = as soon as possible), even though it succeeded. */
  requeueAfterMs?: number;
  /**
   * The rest of the reconcile, when it must await something other than the store (see Batches in
   * controller.ts): run after the batch committed, outside its unit of work. What it answers or throws
   * is the outcome.
   */
  finish?: () => Promise<ReconcileResult | void>;
  /**
   * The reconcile failed, but what it wrote stands (a status saying why): the outcome is this error, as if
   * thrown (backoff; none for a TerminalError), decided after the commit. A reconcile that throws instead
   * has its writes rolled back (see Batches in controller.ts). It does not end the batch.
   */
  failed?: unknown;
  /**
   * Tells others what the reconcile wrote (e.g. wakes a refresh waiting for its status): run once the
   * batch committed, before `finish`, so a reader on any connection sees the write; never when the batch
   * failed. Synchronous, and it does not end the batch.
   */
  committed?: () => void;
}

/** Reconciles one key, level-triggered. Inside a batch it awaits only the store (see Batches in controller.ts). */
export type Reconciler = (key: string) => ReconcileResult | void | Promise<ReconcileResult | void>;

/**
 * Thrown by a reconciler when retrying cannot help (the spec itself is unusable). The controller does
 * not requeue the key; the resource reports Stalled=True until its spec changes.
 */
export class TerminalError extends Error {
  constructor(message: string, readonly reason: string) {
    super(message);
    this.name = 'TerminalError';
  }
}

/**
 * A reconcile failure with a PascalCase reason for the Ready condition (e.g. SecretNotFound).
 * Retried with backoff, unlike TerminalError.
 */
export class ReconcileError extends Error {
  constructor(message: string, readonly reason: string) {
    super(message);
    this.name = 'ReconcileError';
  }
}
