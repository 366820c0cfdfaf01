// Units of work on one SQLite connection (see Transactions): the connection's one writer, and the
// asynchronous context that tells a unit's own calls from everyone else's.
//
// A unit holds the writer from BEGIN to COMMIT/ROLLBACK. A call whose asynchronous context is this
// connection's live unit joins it (its work runs at once, inside the open transaction); a nested
// transaction() there is a savepoint. A call from any other context waits for the writer, in order, so it
// never sees or joins an open unit's writes. With no unit open a call runs its synchronous work at once
// and answers a settled promise: the embedded default pays no queue for being async.
//
// A unit ends (is no longer live) at its commit or rollback, so a callback it scheduled that runs later is
// an outside call. Inside a unit, calls run one after the other as fn awaits them, nested transactions
// too (fn awaits each before the next: savepoints are a stack). One AsyncLocalStorage serves every
// connection: its frames name their connection, and a unit of one store opened inside a unit of another
// (resources then gateway) sees both.
import { AsyncLocalStorage } from 'node:async_hooks';
import type Database from 'better-sqlite3';

interface Frame {
  readonly units: SqliteUnits;
  readonly parent: Frame | undefined;
  live: boolean;
}

const context = new AsyncLocalStorage<Frame | undefined>();

/**
 * Runs fn outside every unit: what it starts (a listener's read a microtask later) is an outside call,
 * so it never joins a unit that has yet to commit. Write listeners are called so.
 */
export function outsideUnits<T>(fn: () => T): T {
  // run(undefined) rather than exit(): exit() disables the storage for the call, which turns node's promise
  // hooks off and on again when it is the only one.
  return context.getStore() === undefined ? fn() : context.run(undefined, fn);
}

/** What a store keeps in step with a transaction or savepoint besides SQLite (an in-memory index, announcements). */
export interface UnitScope<S> {
  /** A unit (outermost) or a savepoint (nested) begins; answers what end() needs. */
  begin(outermost: boolean): S;
  /** It committed or was released (ok), or rolled back; called after SQLite did so. */
  end(state: S, ok: boolean, outermost: boolean): void;
}

export class SqliteUnits {
  /** A unit holds the writer, or calls wait for it. */
  private busy = false;
  private readonly waiting: (() => void)[] = [];
  private readonly stmt;
  /** Names the savepoints of the open unit; none is reused while it is open. */
  private savepoints = 0;

  constructor(private readonly db: Database.Database) {
    this.stmt = {
      begin: db.prepare('BEGIN'),
      commit: db.prepare('COMMIT'),
      rollback: db.prepare('ROLLBACK'),
    };
  }

  /** True inside this connection's live unit (its context). */
  joined(): boolean {
    for (let frame = context.getStore(); frame; frame = frame.parent) if (frame.units === this) return frame.live;
    return false;
  }

  /**
   * One port call: work (synchronous, at most one SQLite transaction of its own) runs at once when no unit
   * is open or when the caller is in the live unit, else when the writer is free.
   */
  call<T>(work: () => T): Promise<T> {
    if (!this.busy || this.joined()) {
      try {
        return Promise.resolve(work());
      } catch (err) {
        return Promise.reject(err as Error);
      }
    }
    return this.queued(work);
  }

  /** Runs fn as a unit of work (see the header); scope is told of its begin and end. */
  async transaction<T, S>(fn: () => Promise<T>, scope: UnitScope<S>): Promise<T> {
    if (this.joined()) return this.savepoint(fn, scope);
    await this.acquire();
    const frame: Frame = { units: this, parent: context.getStore(), live: true };
    let state: S;
    try {
      this.stmt.begin.run();
      this.savepoints = 0;
      state = scope.begin(true);
    } catch (err) {
      if (this.db.inTransaction) this.stmt.rollback.run();
      frame.live = false;
      this.release();
      throw err;
    }
    let ok = false;
    try {
      const result = await context.run(frame, fn);
      this.stmt.commit.run();
      ok = true;
      return result;
    } finally {
      frame.live = false;
      // A failed COMMIT (or a failing fn) rolls back; SQLite may have rolled back by itself already.
      if (!ok && this.db.inTransaction) this.stmt.rollback.run();
      try {
        scope.end(state, ok, true);
      } finally {
        this.release();
      }
    }
  }

  private async savepoint<T, S>(fn: () => Promise<T>, scope: UnitScope<S>): Promise<T> {
    const name = `unit_${++this.savepoints}`;
    this.db.exec(`SAVEPOINT ${name}`);
    const state = scope.begin(false);
    let ok = false;
    try {
      const result = await fn();
      this.db.exec(`RELEASE ${name}`);
      ok = true;
      return result;
    } finally {
      if (!ok && this.db.inTransaction) this.db.exec(`ROLLBACK TO ${name}; RELEASE ${name}`);
      scope.end(state, ok, false);
    }
  }

  private async queued<T>(work: () => T): Promise<T> {
    await this.acquire();
    try {
      return work();
    } finally {
      this.release();
    }
  }

  private acquire(): Promise<void> {
    if (!this.busy) {
      this.busy = true;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  private release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.busy = false;
  }
}
