// Units of work on one SQLite connection (see Transactions): the connection's one writer, and the
// asynchronous context that tells a unit's own calls from everyone else's.
//
// A unit holds the writer from BEGIN to COMMIT/ROLLBACK. A call whose asynchronous context is this
// connection's live unit joins it (its work runs at once, inside the open transaction); a nested
// transaction() there is a savepoint. A call from any other context waits for the writer, in order, so it
// never sees or joins an open unit's writes. With no unit open a call runs its synchronous work at once
// and answers a settled promise: the embedded default pays no queue for being async.
//
// Group commit: a write from outside every unit (write()) is not committed on its own. The writes of one
// event-loop turn are carried out together once it ends (setImmediate), in one transaction with one
// commit, each in a savepoint of its own: a write that throws undoes only its own work and rejects only its
// own promise. Every write's promise settles after that commit and, with a WalSync (--durability full), after
// the fsync that makes it durable, which runs on the thread pool while the writer already serves the next
// group (see wal-sync.ts); so none is acknowledged before it is durable, and none is seen by a read before it
// is committed (a read in the same turn runs at once against committed state; a read may see a commit whose
// fsync is still running, whose writer is not answered yet; durableNow() waits for one that covers it). A write's checks (a compare-and-swap) run when it
// is carried out, after the writes of the group before it. A group waits for the writer like any outside call.
// A unit (transaction()) settles after its fsync too, unless it is derived (UnitOptions.derived): the next
// durable commit's fsync covers it, the WAL being appended in order.
//
// Every commit of the connection is told to `afterCommit` (the WAL checkpointer, checkpointer.ts): a unit's
// and a group's after their COMMIT, and a call's whose own statements committed (it ran outside every
// transaction and SQLite's total_changes() moved), whichever store's table it wrote.
//
// A unit ends (is no longer live) at its commit or rollback, so a callback it scheduled that runs later is
// an outside call. Inside a unit, calls run one after the other as fn awaits them, nested transactions
// too (fn awaits each before the next: savepoints are a stack). One AsyncLocalStorage serves every
// connection: its frames name their connection, and a unit of one store opened inside a unit of another
// (resources then gateway) sees both.
import { AsyncLocalStorage } from 'node:async_hooks';
import type Database from 'better-sqlite3';
import type { UnitOptions } from '../transactions.js';
import type { WalSync } from './wal-sync.js';

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
  return context.getStore() === undefined ? fn() : context.run(undefined, fn);
}

/** What a store keeps in step with a transaction or savepoint besides SQLite (an in-memory index, announcements). */
export interface UnitScope<S> {
  /** A unit (outermost) or a savepoint (nested) begins; answers what end() needs. */
  begin(outermost: boolean): S;
  /** It committed or was released (ok), or rolled back; called after SQLite did so. */
  end(state: S, ok: boolean, outermost: boolean): void;
}

interface GroupMember {
  readonly work: () => unknown;
  readonly resolve: (value: unknown) => void;
  readonly reject: (err: Error) => void;
}

interface Group {
  readonly members: GroupMember[];
  /** Settles once the group committed or rolled back (close() waits for it). */
  readonly done: Promise<void>;
}

export class SqliteUnits {
  /** A unit holds the writer, or calls wait for it. */
  private busy = false;
  /** Outside writes of this turn, carried out together when it ends (see write). */
  private group: Group | undefined;
  private readonly waiting: (() => void)[] = [];
  private readonly stmt;
  /** Names the savepoints of the open unit; none is reused while it is open. */
  private savepoints = 0;
  /** A derived unit is open: what it commits need not wait for an fsync (see whenDurable). */
  private derivedOpen = false;
  /** A group member's work is running (see inGroupMember). */
  private memberRunning = false;
  /** The fsync of the latest durable commit (group or unit), started as its COMMIT returned. */
  private lastSync: Promise<void> | undefined;
  /** total_changes() when a call last looked: a call outside every transaction that moves it committed. */
  private changesSeen = 0;

  /**
   * durable: makes commits durable (--durability full on a file); without it a commit is acknowledged as it
   * returns. afterCommit: told after each commit of the connection (see the header); must not throw.
   */
  constructor(
    private readonly db: Database.Database,
    private readonly durable?: WalSync,
    private readonly afterCommit?: () => void,
  ) {
    this.stmt = {
      totalChanges: db.prepare('SELECT total_changes()').pluck(),
      begin: db.prepare('BEGIN'),
      commit: db.prepare('COMMIT'),
      rollback: db.prepare('ROLLBACK'),
      memberBegin: db.prepare('SAVEPOINT group_member'),
      memberRelease: db.prepare('RELEASE group_member'),
      memberUndo: db.prepare('ROLLBACK TO group_member'),
    };
  }

  /**
   * Runs fn once what was committed so far is durable: at once without a WalSync or inside a derived unit
   * (its commit waits for none), else after the next fsync (not at all if it failed). Write listeners are
   * called so: what they start (a reconcile, a watch frame) never acts on a write that may yet be lost.
   */
  whenDurable(fn: () => void): void {
    if (!this.durable || this.derivedOpen) fn();
    else (this.lastSync ?? this.durable.sync()).then(fn, () => undefined);
  }

  /** Starts the fsync that makes the commit that just returned durable (listeners then wait for it too). */
  private syncCommit(): Promise<void> | undefined {
    this.lastSync = this.durable?.sync();
    // Whoever awaits it handles a failure; a unit that failed after its COMMIT (scope.end threw) does not.
    this.lastSync?.catch(() => undefined);
    return this.lastSync;
  }

  /**
   * Resolves once every commit made so far is durable (an fsync started now completed); at once without a
   * WalSync. A read answered after it hands out nothing a power loss may take back.
   */
  durableNow(): Promise<void> {
    return this.durable ? this.durable.sync() : Promise.resolve();
  }

  /** After a failed fsync no unit or group commits again (its state on disk is unknown): throws that failure. */
  private refuseAfterSyncFailure(): void {
    const failure = this.durable?.failed;
    if (failure) throw failure;
  }

  /** Settles once the commits made so far are durable (or their fsync failed). */
  async durableIdle(): Promise<void> {
    await this.durable?.idle();
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
        return Promise.resolve(this.run(work));
      } catch (err) {
        return Promise.reject(err as Error);
      }
    }
    return this.queued(work);
  }

  /** Runs a call's work; outside every transaction, tells afterCommit if its statements committed (see the header). */
  private run<T>(work: () => T): T {
    if (!this.afterCommit || this.db.inTransaction) return work();
    try {
      return work();
    } finally {
      if (this.db.open && !this.db.inTransaction) {
        const changes = this.stmt.totalChanges.get() as number;
        if (changes !== this.changesSeen) {
          this.changesSeen = changes;
          this.afterCommit();
        }
      }
    }
  }

  /** After a unit's or a group's COMMIT. */
  private committed(): void {
    if (!this.afterCommit) return;
    this.changesSeen = this.stmt.totalChanges.get() as number;
    this.afterCommit();
  }

  /**
   * One outside write (see "Group commit" in the header): work runs with the other writes of this turn in
   * one transaction, in a savepoint of its own; the promise settles after that transaction's commit. Inside
   * this connection's live unit it runs at once, as call() does.
   */
  write<T, S>(work: () => T, scope: UnitScope<S>): Promise<T> {
    if (this.joined()) return this.call(work);
    return new Promise<T>((resolve, reject) => {
      if (!this.group) {
        let finished!: () => void;
        const group: Group = { members: [], done: new Promise<void>((r) => (finished = r)) };
        this.group = group;
        // Every member is answered whatever befalls the group (an answered one ignores a later reject).
        setImmediate(() =>
          void this.commitGroup(group, scope)
            .catch((err: unknown) => {
              for (const member of group.members) member.reject(err instanceof Error ? err : new Error(String(err)));
            })
            .finally(finished),
        );
      }
      this.group.members.push({ work, resolve: resolve as (value: unknown) => void, reject });
    });
  }

  /** Settles once the writes made so far are committed (or failed). */
  async settled(): Promise<void> {
    await this.group?.done;
  }

  private async commitGroup<S>(group: Group, scope: UnitScope<S>): Promise<void> {
    await this.acquire();
    // Writes made while the group waited for the writer joined it; later ones start the next group.
    if (this.group === group) this.group = undefined;
    const results: { ok: boolean; value: unknown }[] = [];
    let committed = false;
    let failure: Error | undefined;
    let state: S | undefined;
    let begun = false;
    let sync: Promise<void> | undefined;
    try {
      this.refuseAfterSyncFailure();
      this.stmt.begin.run();
      this.savepoints = 0;
      state = scope.begin(true);
      begun = true;
      for (const member of group.members) results.push(this.runInSavepoint(member.work, scope));
      this.stmt.commit.run();
      committed = true;
      sync = this.syncCommit();
      this.committed();
    } catch (err) {
      failure = err as Error;
    } finally {
      try {
        if (!committed && this.db.inTransaction) this.stmt.rollback.run();
      } catch (err) {
        failure ??= err as Error;
      }
      try {
        if (begun) scope.end(state as S, committed, true);
      } catch (err) {
        // After a commit its outcome stands (the members are answered with it); before one, the first failure is the answer.
        if (!committed) failure ??= err as Error;
      } finally {
        this.release();
      }
    }
    if (sync) {
      try {
        await sync;
      } catch (err) {
        committed = false;
        failure = err as Error;
      }
    }
    group.members.forEach((member, i) => {
      const result = results[i];
      if (!committed) member.reject(failure ?? new Error('the group commit failed'));
      else if (result!.ok) member.resolve(result!.value);
      else member.reject(result!.value as Error);
    });
  }

  /**
   * True while a group member's work runs: it is in a savepoint of its own already, so a store need not
   * open another around the write it makes (its scope rolls back with the member's).
   */
  inGroupMember(): boolean {
    return this.memberRunning;
  }

  /** One member of a group in a savepoint: a member that throws undoes only its own writes. */
  private runInSavepoint<S>(work: () => unknown, scope: UnitScope<S>): { ok: boolean; value: unknown } {
    this.stmt.memberBegin.run();
    const state = scope.begin(false);
    let ok = false;
    this.memberRunning = true;
    try {
      const value = work();
      this.stmt.memberRelease.run();
      ok = true;
      return { ok: true, value };
    } catch (err) {
      if (this.db.inTransaction) {
        this.stmt.memberUndo.run();
        this.stmt.memberRelease.run();
      }
      return { ok: false, value: err };
    } finally {
      this.memberRunning = false;
      scope.end(state, ok, false);
    }
  }

  /** Runs fn as a unit of work (see the header); scope is told of its begin and end. */
  async transaction<T, S>(fn: () => Promise<T>, scope: UnitScope<S>, options?: UnitOptions): Promise<T> {
    if (this.joined()) return this.savepoint(fn, scope);
    await this.acquire();
    const frame: Frame = { units: this, parent: context.getStore(), live: true };
    // A derived unit waits for no fsync (see UnitOptions.derived): the WAL is appended in order, so the next
    // durable commit's fsync covers it too, and a loss drops only a suffix of such commits.
    const derived = options?.derived === true;
    this.derivedOpen = derived;
    let state: S;
    try {
      this.refuseAfterSyncFailure();
      this.stmt.begin.run();
      this.savepoints = 0;
      state = scope.begin(true);
    } catch (err) {
      if (this.db.inTransaction) this.stmt.rollback.run();
      frame.live = false;
      this.derivedOpen = false;
      this.release();
      throw err;
    }
    let ok = false;
    let result: T;
    let sync: Promise<void> | undefined;
    try {
      result = await context.run(frame, fn);
      this.stmt.commit.run();
      ok = true;
      if (!derived) sync = this.syncCommit();
      this.committed();
    } finally {
      frame.live = false;
      // A failed COMMIT (or a failing fn) rolls back; SQLite may have rolled back by itself already.
      if (!ok && this.db.inTransaction) this.stmt.rollback.run();
      try {
        scope.end(state, ok, true);
      } finally {
        this.derivedOpen = false;
        this.release();
      }
    }
    await sync;
    return result;
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

  /**
   * Holds the writer, once it is free, until `until()` settles: no unit, group or outside call of this
   * connection runs meanwhile (they wait in order, as for a unit), while the event loop stays free. The
   * checkpointer holds it while a worker copies the last frames of a full WAL (checkpointer.ts).
   */
  holdWriter(until: () => Promise<void>): void {
    void this.acquire().then(async () => {
      try {
        await until();
      } catch {
        // The holder's failure is its own; the writer is free again either way.
      } finally {
        this.release();
      }
    });
  }

  private async queued<T>(work: () => T): Promise<T> {
    await this.acquire();
    try {
      return this.run(work);
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
