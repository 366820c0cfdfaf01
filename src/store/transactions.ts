// A unit of work: the store calls made inside fn commit together, or not at all.
//
// The unit is ambient: every call on this store object made from fn's asynchronous context (fn itself and
// what it awaits) joins it, so the ports stay the same inside and outside a unit. Calls from any other
// context do not see its writes until it commits, and do not join it (on SQLite they wait for it: one
// writer; on PostgreSQL they run beside it). Two store objects of one engine that share a connection pool
// (PostgreSQL's resource and gateway stores) join one unit, so a status write and its gateway write commit
// together.
//
// fn awaits only calls on the store (never the network, a timer or a lock of its own): a unit holds the
// engine's writer while it runs. A nested transaction() joins the outer unit (a savepoint: a nested fn
// that rejects undoes only its own writes). A call made from fn's context after the unit ended (a
// callback fn scheduled) runs outside any unit.
export interface Transactions {
  /** Runs fn as one unit of work (see above); answers what fn answers, after the commit. */
  transaction<T>(fn: () => Promise<T>, options?: UnitOptions): Promise<T>;
}

/** How a unit commits; the outermost unit's options decide (a nested one is a savepoint of it). */
export interface UnitOptions {
  /**
   * The unit writes only state the reconciler derives from desired state (status, its events, gateway
   * entries), which the next reconcile writes again if it is lost. An engine may then commit without
   * waiting for the disk (SQLite: no fsync of its own; the next durable commit makes it durable too, in
   * order), so a power loss may take it back to an earlier state, never to an inconsistent one. Desired
   * state (intake, watched directories) is never written in such a unit. PostgreSQL ignores it.
   */
  derived?: boolean;
}
