// ClusterRole: the leader work starts on election and stops on loss or SIGTERM (then the lease is
// released), one transition at a time; readiness follows it. With a fake election (the callbacks driven
// by the test) and with the real PostgreSQL lease (LeaderElector) between two replicas.
import pg from 'pg';
import { alwaysLeader, ClusterRole, type ElectionCallbacks, type LeaderWork } from '../../src/cluster/cluster-role.js';
import { LeaderElector } from '../../src/cluster/leader-election.js';
import { readLease } from '../../src/cluster/lease.js';
import { silentLogger } from '../../src/domain/logger.js';
import { connect } from '../../src/store/postgres/connection.js';
import { migrate } from '../../src/store/postgres/migrations.js';
import { waitFor } from '../support/control-plane.js';
import { POSTGRES_START_TIMEOUT_MS, requirePostgres, testPostgres } from '../support/postgres.js';

/** A promise the test resolves. */
function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

/** Work items that log what ran; `gates[name]` holds that item's start until the test opens it. */
function recordingWork(log: string[], names: string[], gates: Record<string, Promise<void>> = {}, onStop?: (name: string) => Promise<void>): LeaderWork[] {
  return names.map((name) => ({
    name,
    start: async () => {
      log.push(`start ${name}`);
      await gates[name];
      log.push(`started ${name}`);
    },
    stop: async () => {
      await onStop?.(name);
      log.push(`stop ${name}`);
    },
  }));
}

/** An election the test drives. */
function fakeElection() {
  let callbacks!: ElectionCallbacks;
  const election = { started: 0, stopped: 0, elect: (epoch: number) => callbacks.onStartedLeading(epoch), lose: () => callbacks.onStoppedLeading() };
  const factory = (cb: ElectionCallbacks) => {
    callbacks = cb;
    return {
      start: () => void election.started++,
      stop: async () => {
        election.stopped++;
        callbacks.onStoppedLeading();
      },
    };
  };
  return { election, factory };
}

describe('ClusterRole with a fake election', () => {
  it('always leader (SQLite): starts the work in order, ready once all started; stop() stops it in reverse', async () => {
    const log: string[] = [];
    const sync = deferred();
    const transitions: boolean[] = [];
    const role = new ClusterRole({ election: alwaysLeader, work: recordingWork(log, ['reconciler', 'sources'], { sources: sync.promise }), logger: silentLogger, onTransition: (l) => transitions.push(l) });
    expect(role.notReadyReason()).toMatch(/not joined/);
    const started = role.start();
    await waitFor(() => log.includes('start sources'), { what: 'the sources to start' });
    expect(role.isLeader).toBe(true);
    expect(role.leadership?.epoch).toBe(1);
    expect(role.notReadyReason()).toMatch(/elected leader and is starting/);
    sync.resolve();
    await started;
    expect(role.notReadyReason()).toBeUndefined();
    await role.stop();
    expect(log).toEqual(['start reconciler', 'started reconciler', 'start sources', 'started sources', 'stop sources', 'stop reconciler']);
    expect(transitions).toEqual([true, false]);
    expect(role.isLeader).toBe(false);
  });

  it('a work item that fails to start fails start() and leaves the replica not ready', async () => {
    const role = new ClusterRole({
      election: alwaysLeader,
      work: [{ name: 'sources', start: () => Promise.reject(new Error('the directory is unreadable')), stop: () => undefined }, { name: 'after', start: () => { throw new Error('must not run'); }, stop: () => undefined }],
      logger: silentLogger,
    });
    await expect(role.start()).rejects.toThrow('the directory is unreadable');
    expect(role.notReadyReason()).toBe('the leader work failed to start: the directory is unreadable');
    await role.stop();
  });

  it('a follower is ready; losing the lease while the work starts stops it after the start finished, and says so once', async () => {
    const log: string[] = [];
    const gate = deferred();
    const { election, factory } = fakeElection();
    let lost = 0;
    const role = new ClusterRole({ election: factory, work: recordingWork(log, ['reconciler'], { reconciler: gate.promise }), logger: silentLogger, onLost: () => lost++ });
    await role.start();
    expect(election.started).toBe(1);
    expect(role.isLeader).toBe(false);
    expect(role.notReadyReason()).toBeUndefined();
    election.elect(7);
    election.lose();
    await waitFor(() => log.includes('start reconciler'), { what: 'the start' });
    expect(log).toEqual(['start reconciler']);
    gate.resolve();
    await role.settled();
    expect(log).toEqual(['start reconciler', 'started reconciler', 'stop reconciler']);
    expect(lost).toBe(1);
    // Elected again at a later term: the work starts again.
    election.elect(9);
    await role.settled();
    expect(role.leadership?.epoch).toBe(9);
    await role.stop();
    expect(election.stopped).toBe(1);
    expect(lost).toBe(1);
    expect(log.filter((l) => l.startsWith('stop'))).toHaveLength(2);
  });
});

const { describe: describePg } = requirePostgres();

describePg('ClusterRole on the PostgreSQL lease', () => {
  beforeAll(() => testPostgres(), POSTGRES_START_TIMEOUT_MS);
  let url: string;
  const pools: pg.Pool[] = [];
  const roles: ClusterRole[] = [];
  beforeEach(async () => {
    url = (await (await testPostgres()).freshSchema()).url;
    const admin = connect(url);
    pools.push(admin);
    await migrate(admin);
  });
  afterEach(async () => {
    await Promise.all(roles.splice(0).map((r) => r.stop()));
    await Promise.all(pools.splice(0).map((p) => p.end()));
  });

  /** A replica whose lease outlasts the test: a takeover is a release or a theft, never an expiry on a busy machine. */
  function replica(id: string, log: string[], onStop?: (name: string) => Promise<void>, onLost?: () => void): ClusterRole {
    const db = connect(url);
    pools.push(db);
    const role = new ClusterRole({
      election: (cb) => new LeaderElector({ db, identity: id, leaseDurationMs: 120_000, renewDeadlineMs: 90_000, retryPeriodMs: 100, ...cb }),
      work: recordingWork(log, [`${id} reconciler`], {}, onStop),
      logger: silentLogger,
      ...(onLost ? { onLost } : {}),
    });
    roles.push(role);
    return role;
  }

  it('one replica leads; on stop its work ends while it still holds the lease, then the other takes over at the next epoch', async () => {
    const log: string[] = [];
    const admin = pools[0]!;
    let holderWhileStopping: string | null | undefined;
    const a = replica('a', log, async () => {
      holderWhileStopping = (await readLease(admin, 'controller'))?.holder;
    });
    await a.start();
    await waitFor(() => a.isLeader && a.notReadyReason() === undefined, { what: 'a to lead' });
    const b = replica('b', log);
    await b.start();
    await waitFor(async () => (await readLease(admin, 'controller'))?.holder === 'a' && !b.isLeader, { what: 'b to stay a follower' });
    expect(b.notReadyReason()).toBeUndefined();

    await a.stop();
    expect(holderWhileStopping).toBe('a');
    await waitFor(() => b.leadership?.epoch === 2, { what: 'b to take over at epoch 2' });
    await b.settled();
    expect(log).toEqual(['start a reconciler', 'started a reconciler', 'stop a reconciler', 'start b reconciler', 'started b reconciler']);
    expect((await readLease(admin, 'controller'))?.holder).toBe('b');
  });

  it('a lease taken from under the leader stops its work and reports the loss', async () => {
    const log: string[] = [];
    let lost = 0;
    const a = replica('a', log, undefined, () => lost++);
    await a.start();
    await waitFor(() => a.isLeader, { what: 'a to lead' });
    // Another holder at a new epoch, as after a takeover this replica did not see happen.
    await pools[0]!.query("UPDATE leases SET holder = 'elsewhere', epoch = epoch + 1 WHERE name = 'controller'");
    await waitFor(() => lost === 1, { what: 'the loss to be reported' });
    expect(log).toEqual(['start a reconciler', 'started a reconciler', 'stop a reconciler']);
    expect(a.isLeader).toBe(false);
  });
});
