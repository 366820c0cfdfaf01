// Ambient units of work on one pool (the contract: src/store/transactions.ts). A unit is a client checked
// out of the pool with a transaction open on it, kept in an AsyncLocalStorage: every store call made from
// the unit's asynchronous context, through any store object over this pool, runs on that client, so a
// status write and its gateway write commit together. A nested unit is a savepoint. A call from a context
// whose unit has ended runs outside any unit.
//
// A savepoint is sent lazily, with the first write inside it (before its writer lock): a nested unit that
// only reads (a reconcile of an unchanged server, the most common one) costs no round trip. So a write
// that fails in SQL undoes only its nested unit, as ever; a read that fails in SQL inside a nested unit
// that has not written aborts the whole transaction (its unit then fails to commit, and is retried whole).
//
// Calls fn did not await: a call that joined the unit (a write, or a query of a reader it handed out) is
// counted while it runs, and the unit waits for its calls to finish before COMMIT (so they commit with
// it) and before ROLLBACK (so none runs a statement on the connection once it is back in the pool, where
// another unit may hold it). Once a unit is no longer live, such a call rejects at its next step.
//
// The writer lock: every write transaction first locks the resourceVersion counter row (FOR NO KEY
// UPDATE), before any other row, and holds it to its end (a bump would take it anyway). So writers pass
// one at a time, as on SQLite: no two write transactions can wait for each other's rows (no deadlock,
// whatever a unit writes in whatever order), and every statement after the lock reads every commit before
// it, so the compare of a compare-and-swap reads the current row. A unit that only reads takes no lock.
// A snapshot (snapshot()) is a unit in REPEATABLE READ READ ONLY: all its reads see one moment, and it
// holds up no writer.
//
// Fencing: a store object may carry a fence (src/cluster/fence.ts), run once per unit that this store
// object uses, at its start or when the store object joins it, before the writer lock: a leader's store
// object writes nothing once its lease epoch is stale, and the API's store object over the same pool is
// not fenced.
import { AsyncLocalStorage } from 'node:async_hooks';
import type pg from 'pg';
import type { Queryable } from './connection.js';
import { prepared } from './prepared.js';

/** Fails the transaction (throws) unless its writer may still write; see src/cluster/fence.ts. */
export type Fence = (client: Queryable) => Promise<void>;

const WRITER_LOCK_SQL = "SELECT value FROM counters WHERE name = 'resource_version' FOR NO KEY UPDATE";
const WRITER_LOCK = prepared('writer_lock', WRITER_LOCK_SQL);

export interface Unit {
  readonly client: pg.PoolClient;
  /** False once committed or rolled back: a late call from its context then runs outside any unit. */
  live: boolean;
  /**
   * The resourceVersion counter as this unit holds it: read when it took the writer lock, and set by each
   * bump of the unit, so the next resourceVersion is this + 1. Undefined until it takes the writer lock.
   */
  resourceVersion: number | undefined;
  readonly fenced: Set<Fence>;
  /** Run after the commit, in order; dropped with a rolled-back savepoint or unit. */
  readonly committed: (() => void)[];
  savepoints: number;
  /** Savepoints of nested units begun but not yet sent (outermost first): sent by the next write. */
  pending: string[];
  /** Calls that joined the unit and are still running (see the header). */
  inFlight: number;
  /** Resolves the wait for inFlight to reach 0, when one waits. */
  drained: (() => void) | undefined;
}

/** A call joined a unit of work that has since committed or rolled back (its fn did not await it). */
function assertLive(unit: Unit): void {
  if (!unit.live) throw new Error('The unit of work this call joined has ended: its transaction function must await every store call it makes');
}

export class Units {
  private readonly als = new AsyncLocalStorage<Unit>();

  constructor(private readonly pool: pg.Pool) {}

  /** The live unit of the caller's context on this pool, if any. */
  current(): Unit | undefined {
    const unit = this.als.getStore();
    return unit?.live ? unit : undefined;
  }

  /** Where a read runs: the caller's unit, else the pool (each statement by itself). */
  reader(): Queryable {
    const unit = this.current();
    if (!unit) return this.pool;
    const query = (...args: unknown[]) =>
      this.joined(unit, async () => {
        assertLive(unit);
        return (unit.client.query as (...a: unknown[]) => Promise<unknown>)(...args);
      });
    return { query } as unknown as Queryable;
  }

  /** Runs fn as a unit (or a savepoint of the caller's unit), fenced by `fence` when given. */
  transaction<T>(fn: () => Promise<T>, fence?: Fence): Promise<T> {
    const unit = this.current();
    return unit ? this.nested(unit, fn, fence) : this.outermost(fn, fence);
  }

  /**
   * Runs a write: in the caller's unit (joined with `fence`, holding the writer lock), or outside one as
   * a unit of its own. `fn` may register what to do after the commit (Unit.committed).
   */
  write<T>(fence: Fence | undefined, fn: (client: Queryable, unit: Unit) => Promise<T>): Promise<T> {
    const unit = this.current();
    if (!unit) return this.outermost(() => this.write(fence, fn), fence, 'write');
    return this.writeIn(unit, fence, fn);
  }

  /**
   * One port call made of several steps (a read, then a write): in the caller's unit it counts as joined
   * from its first step to its last, so the unit does not end between them. Outside a unit it just runs.
   */
  call<T>(fn: () => Promise<T>): Promise<T> {
    const unit = this.current();
    return unit ? this.joined(unit, fn) : fn();
  }

  /**
   * Runs fn as a read-only unit whose reads all see one MVCC snapshot (the resourceVersion and the rows
   * at it), holding no lock; inside a unit, fn runs in that unit.
   */
  snapshot<T>(fn: () => Promise<T>): Promise<T> {
    return this.current() ? fn() : this.outermost(fn, undefined, 'snapshot');
  }

  /** Runs hook once the caller's unit commits (never, when it rolls back), or now when the caller is in no unit. */
  afterCommit(hook: () => void): void {
    const unit = this.current();
    if (unit) unit.committed.push(hook);
    else hook();
  }

  private writeIn<T>(unit: Unit, fence: Fence | undefined, fn: (client: Queryable, unit: Unit) => Promise<T>): Promise<T> {
    return this.joined(unit, async () => {
      await this.join(unit, fence);
      assertLive(unit);
      if (unit.pending.length > 0) {
        // The savepoints this write is inside, sent before it (and before its writer lock).
        const names = unit.pending.splice(0);
        await unit.client.query(names.map((n) => `SAVEPOINT ${n}`).join('; '));
        assertLive(unit);
      }
      if (unit.resourceVersion === undefined) {
        const locked = (await unit.client.query<{ value: number }>(WRITER_LOCK())).rows[0]!.value;
        assertLive(unit);
        unit.resourceVersion = locked;
      }
      return fn(unit.client, unit);
    });
  }

  /**
   * Runs a call that joined unit, counted in its inFlight while it runs. It rejects when the unit ended
   * meanwhile: that is a rollback (a commit waits for it), so what it did is undone.
   */
  private async joined<T>(unit: Unit, call: () => Promise<T>): Promise<T> {
    unit.inFlight++;
    try {
      const result = await call();
      assertLive(unit);
      return result;
    } finally {
      if (--unit.inFlight === 0) unit.drained?.();
    }
  }

  /** Resolves once no call that joined unit is running. */
  private async drain(unit: Unit): Promise<void> {
    while (unit.inFlight > 0) await new Promise<void>((resolve) => (unit.drained = resolve));
    unit.drained = undefined;
  }

  private async join(unit: Unit, fence: Fence | undefined): Promise<void> {
    if (!fence || unit.fenced.has(fence)) return;
    await fence(unit.client);
    unit.fenced.add(fence);
  }

  /**
   * `write`: the unit is a write, so an unfenced one takes the writer lock with its BEGIN (one round trip).
   * `snapshot`: REPEATABLE READ READ ONLY (see snapshot()).
   */
  private async outermost<T>(fn: () => Promise<T>, fence: Fence | undefined, kind: 'unit' | 'write' | 'snapshot' = 'unit'): Promise<T> {
    const client = await this.pool.connect();
    const unit: Unit = { client, live: true, resourceVersion: undefined, fenced: new Set(), committed: [], savepoints: 0, pending: [], inFlight: 0, drained: undefined };
    let broken = false;
    let result: T;
    try {
      if (kind === 'snapshot') {
        await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      } else if (kind === 'write' && !fence) {
        // A query of two statements answers a result for each.
        const [, locked] = (await client.query(`BEGIN; ${WRITER_LOCK_SQL}`)) as unknown as pg.QueryResult<{ value: number }>[];
        unit.resourceVersion = locked!.rows[0]!.value;
      } else {
        await client.query('BEGIN');
        await this.join(unit, fence);
      }
      result = await this.als.run(unit, fn);
      // Calls fn left running join until they finish, and commit with it.
      await this.drain(unit);
      unit.live = false;
      const commit = await client.query('COMMIT');
      // A transaction the server aborted (fn swallowed a failed statement) answers ROLLBACK to COMMIT.
      if (commit.command !== 'COMMIT') throw new Error('The transaction was aborted by an earlier failed statement and rolled back');
    } catch (err) {
      unit.live = false;
      // Calls still running reject at their next step; none is left to run on the client once released.
      await this.drain(unit);
      await client.query('ROLLBACK').catch(() => {
        broken = true;
      });
      throw err;
    } finally {
      unit.live = false;
      // A connection whose ROLLBACK failed is closed, not returned to the pool.
      client.release(broken);
    }
    for (const hook of unit.committed) {
      try {
        hook();
      } catch {
        // A hook's failure is its own; the unit has committed.
      }
    }
    return result;
  }

  private async nested<T>(unit: Unit, fn: () => Promise<T>, fence: Fence | undefined): Promise<T> {
    // Fenced before the savepoint: a rollback to it would release the fence's lock.
    await this.join(unit, fence);
    const name = `unit_${++unit.savepoints}`;
    const before = { resourceVersion: unit.resourceVersion, fenced: [...unit.fenced], hooks: unit.committed.length };
    // Sent by the first write inside it (see the header).
    unit.pending.push(name);
    /** True when the savepoint was never sent (nothing was written inside it): it is dropped, with those inside it. */
    const unsent = () => {
      const at = unit.pending.indexOf(name);
      if (at < 0) return false;
      unit.pending.length = at;
      return true;
    };
    let result: T;
    try {
      result = await fn();
    } catch (err) {
      if (unit.live && !unsent()) {
        // Locks taken after the savepoint go with it.
        await unit.client.query(`ROLLBACK TO SAVEPOINT ${name}; RELEASE SAVEPOINT ${name}`).catch(() => {});
        unit.resourceVersion = before.resourceVersion;
        unit.fenced.clear();
        for (const f of before.fenced) unit.fenced.add(f);
        unit.committed.length = before.hooks;
      }
      throw err;
    }
    if (!unsent()) await unit.client.query(`RELEASE SAVEPOINT ${name}`);
    return result;
  }
}
