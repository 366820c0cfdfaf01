// A leader whose work fails to start does not keep the lease with no reconciler: what started stops again,
// the lease is released and the failure is reported as a loss (the process ends and restarts as a
// follower), so another replica takes over at its next try. While the work is still starting, the leader
// refuses refreshes other replicas forward to it (503).
import express from 'express';
import { randomBytes } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import pg from 'pg';
import { ClusterRole, type ElectionCallbacks, type LeaderWork } from '../../src/cluster/cluster-role.js';
import { InternalTokens } from '../../src/cluster/internal-token.js';
import { LeaderElector } from '../../src/cluster/leader-election.js';
import { readLease } from '../../src/cluster/lease.js';
import { INTERNAL_REFRESH_PATH } from '../../src/cluster/refresh-forwarding.js';
import { silentLogger } from '../../src/domain/logger.js';
import { clusterInternalRouter } from '../../src/http/cluster-internal-router.js';
import { connect } from '../../src/store/postgres/connection.js';
import { migrate } from '../../src/store/postgres/migrations.js';
import { waitFor } from '../support/control-plane.js';
import { POSTGRES_START_TIMEOUT_MS, requirePostgres, testPostgres } from '../support/postgres.js';

function work(log: string[], name: string, start: () => Promise<void> = async () => undefined): LeaderWork {
  return {
    name,
    start: async () => {
      log.push(`start ${name}`);
      await start();
    },
    stop: () => void log.push(`stop ${name}`),
  };
}

function fakeElection() {
  let callbacks!: ElectionCallbacks;
  const election = { stopped: 0, elect: (epoch: number) => callbacks.onStartedLeading(epoch) };
  const factory = (cb: ElectionCallbacks) => {
    callbacks = cb;
    return {
      start: () => undefined,
      stop: async () => {
        election.stopped++;
        callbacks.onStoppedLeading();
      },
    };
  };
  return { election, factory };
}

describe('ClusterRole: a failed start of the leader work', () => {
  it('stops what started (in reverse), releases the lease and reports the loss once', async () => {
    const log: string[] = [];
    const { election, factory } = fakeElection();
    let lost = 0;
    const transitions: boolean[] = [];
    const role = new ClusterRole({
      election: factory,
      work: [work(log, 'reconciler'), work(log, 'sources', () => Promise.reject(new Error('the directory is unreadable'))), work(log, 'resync')],
      logger: silentLogger,
      onLost: () => lost++,
      onTransition: (l) => transitions.push(l),
    });
    await role.start();
    election.elect(3);
    await waitFor(() => lost === 1, { what: 'the failed start to be reported' });
    await role.settled();
    expect(log).toEqual(['start reconciler', 'start sources', 'stop sources', 'stop reconciler']);
    expect(election.stopped).toBe(1);
    expect(role.isLeader).toBe(false);
    expect(transitions).toEqual([true, false]);
    expect(role.notReadyReason()).toBe('the leader work failed to start: the directory is unreadable');
    await role.stop();
    expect(lost).toBe(1);
  });

  it('the internal refresh route answers 503 while the elected leader is still starting its work', async () => {
    let open!: () => void;
    const gate = new Promise<void>((r) => (open = r));
    const { election, factory } = fakeElection();
    const role = new ClusterRole({ election: factory, work: [work([], 'sources', () => gate)], logger: silentLogger });
    await role.start();
    election.elect(1);
    await waitFor(() => role.isLeader, { what: 'the election' });
    const key = randomBytes(32);
    let refreshes = 0;
    const app = express().use(
      clusterInternalRouter({
        selfId: 'leader',
        tokens: new InternalTokens(key),
        isLeader: () => role.isLeading,
        refresh: async () => {
          refreshes++;
          return { ok: true };
        },
      }),
    );
    const server = await new Promise<Server>((resolve) => {
      const s = app.listen(0, '127.0.0.1', () => resolve(s));
    });
    try {
      const post = async () =>
        fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}${INTERNAL_REFRESH_PATH}`, {
          method: 'POST',
          headers: { authorization: `Bearer ${await new InternalTokens(key).sign('leader', { action: 'refresh', target: 'default:mcp-server:x', from: 'f' })}`, 'content-type': 'application/json' },
          body: JSON.stringify({ fqn: 'default:mcp-server:x' }),
        });
      expect((await post()).status).toBe(503);
      expect(refreshes).toBe(0);
      open();
      await role.settled();
      expect((await post()).status).toBe(200);
      expect(refreshes).toBe(1);
    } finally {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
      await role.stop();
    }
  });
});

const { describe: describePg } = requirePostgres();

describePg('ClusterRole: a failed start on the PostgreSQL lease', () => {
  beforeAll(() => testPostgres(), POSTGRES_START_TIMEOUT_MS);
  const pools: pg.Pool[] = [];
  const roles: ClusterRole[] = [];
  afterAll(async () => {
    await Promise.all(roles.map((r) => r.stop()));
    await Promise.all(pools.map((p) => p.end()));
  });

  it('the lease is released at once, and the other replica takes over long before the lease would expire', async () => {
    const url = (await (await testPostgres()).freshSchema()).url;
    const admin = connect(url);
    pools.push(admin);
    await migrate(admin);
    const log: string[] = [];
    let lostA = 0;
    const replica = (id: string, start: () => Promise<void>, onLost?: () => void) => {
      const db = connect(url);
      pools.push(db);
      // A lease that outlasts the test: the takeover can only come from the release.
      const role = new ClusterRole({
        election: (cb) => new LeaderElector({ db, identity: id, leaseDurationMs: 120_000, renewDeadlineMs: 90_000, retryPeriodMs: 100, ...cb }),
        work: [work(log, `${id} reconciler`, start)],
        logger: silentLogger,
        ...(onLost ? { onLost } : {}),
      });
      roles.push(role);
      return role;
    };
    const a = replica('a', () => Promise.reject(new Error('cannot start')), () => lostA++);
    await a.start();
    await waitFor(() => lostA === 1, { what: 'a to fail its start and report it' });
    expect((await readLease(admin, 'controller'))?.holder ?? null).not.toBe('a');
    const b = replica('b', async () => undefined);
    await b.start();
    await waitFor(() => b.isLeading, { what: 'b to take over' });
    expect((await readLease(admin, 'controller'))?.holder).toBe('b');
    expect(log).toEqual(['start a reconciler', 'stop a reconciler', 'start b reconciler']);
  });
});
