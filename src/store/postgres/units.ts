// Ambient units of work on one pool (the contract: src/store/transactions.ts). A unit is a client checked
// out of the pool with a transaction open on it, kept in an AsyncLocalStorage: every store call made from
// the unit's asynchronous context, through any store object over this pool, runs on that client, so a
// status write and its gateway write commit together. A nested unit is a savepoint. A call from a context
// whose unit has ended runs outside any unit.
//
// The writer lock: every write transaction first locks the resourceVersion counter row (FOR NO KEY
// UPDATE), before any other row, and holds it to its end (a bump would take it anyway). So writers pass
// one at a time, as on SQLite: no two write transactions can wait for each other's rows (no deadlock,
// whatever a unit writes in whatever order), and every statement after the lock reads every commit before
// it, so the compare of a compare-and-swap reads the current row. A unit that only reads takes no lock,
// but for the resourceVersion it reads (changelog.ts: held FOR SHARE, so its later reads agree with it).
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
    return this.current()?.client ?? this.pool;
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
    if (!unit) return this.outermost(() => this.write(fence, fn), fence, true);
    return this.writeIn(unit, fence, fn);
  }

  /** Runs hook once the caller's unit commits (never, when it rolls back), or now when the caller is in no unit. */
  afterCommit(hook: () => void): void {
    const unit = this.current();
    if (unit) unit.committed.push(hook);
    else hook();
  }

  private async writeIn<T>(unit: Unit, fence: Fence | undefined, fn: (client: Queryable, unit: Unit) => Promise<T>): Promise<T> {
    await this.join(unit, fence);
    if (unit.resourceVersion === undefined) {
      unit.resourceVersion = (await unit.client.query<{ value: number }>(WRITER_LOCK())).rows[0]!.value;
    }
    return fn(unit.client, unit);
  }

  private async join(unit: Unit, fence: Fence | undefined): Promise<void> {
    if (!fence || unit.fenced.has(fence)) return;
    await fence(unit.client);
    unit.fenced.add(fence);
  }

  /** `writes`: the unit is a write, so an unfenced one takes the writer lock with its BEGIN (one round trip). */
  private async outermost<T>(fn: () => Promise<T>, fence: Fence | undefined, writes = false): Promise<T> {
    const client = await this.pool.connect();
    const unit: Unit = { client, live: true, resourceVersion: undefined, fenced: new Set(), committed: [], savepoints: 0 };
    let broken = false;
    let result: T;
    try {
      if (writes && !fence) {
        // A query of two statements answers a result for each.
        const [, locked] = (await client.query(`BEGIN; ${WRITER_LOCK_SQL}`)) as unknown as pg.QueryResult<{ value: number }>[];
        unit.resourceVersion = locked!.rows[0]!.value;
      } else {
        await client.query('BEGIN');
        await this.join(unit, fence);
      }
      result = await this.als.run(unit, fn);
      unit.live = false;
      const commit = await client.query('COMMIT');
      // A transaction the server aborted (fn swallowed a failed statement) answers ROLLBACK to COMMIT.
      if (commit.command !== 'COMMIT') throw new Error('The transaction was aborted by an earlier failed statement and rolled back');
    } catch (err) {
      unit.live = false;
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
    await unit.client.query(`SAVEPOINT ${name}`);
    let result: T;
    try {
      result = await fn();
    } catch (err) {
      if (unit.live) {
        // Locks taken after the savepoint go with it.
        await unit.client.query(`ROLLBACK TO SAVEPOINT ${name}; RELEASE SAVEPOINT ${name}`).catch(() => {});
        unit.resourceVersion = before.resourceVersion;
        unit.fenced.clear();
        for (const f of before.fenced) unit.fenced.add(f);
        unit.committed.length = before.hooks;
      }
      throw err;
    }
    await unit.client.query(`RELEASE SAVEPOINT ${name}`);
    return result;
  }
}
