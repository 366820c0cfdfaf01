// Three replicas on one PostgreSQL, each a real `mcpctl serve` process, while a writer writes across them
// and PostgreSQL restarts (fast: its sessions end, every commit is kept). Asserted: no acknowledged write is
// lost, there is a leader again, writes are accepted again, and a watch continues (or resumes from its
// last event) without gaps or repeats.
import { WatchClient } from '../http/watch-client.js';
import { waitFor } from '../support/control-plane.js';
import { requirePostgres } from '../support/postgres.js';
import { AcknowledgedWrites, REPLICA_ADMIN_TOKEN as ADMIN, replicaSuite, SERVERS, TAKEOVER_DEADLINE_MS, type Replica } from '../support/replicas.js';

const { describe } = requirePostgres();

describe('three replicas on one PostgreSQL that restarts', () => {
  const suite = replicaSuite();

  it('keeps every acknowledged write across a PostgreSQL restart, elects a leader again, takes writes again and resumes watch without gaps or repeats', async () => {
    const { pg: pgServer, set, replicas } = suite;
    await waitFor(async () => {
      const seen = await Promise.all(replicas.map((r) => set.leaderSeenBy(r)));
      return seen.every((l) => l && l.id === seen[0]!.id) ? seen[0] : undefined;
    }, { timeoutMs: 60_000, what: 'one leader seen by all three replicas' });
    const writes = new AcknowledgedWrites(set);
    const { acknowledged } = writes;
    const write = (targets: Replica[], name: string, description: string) => writes.write(targets, name, description);
    for (let i = 0; i < 9; i++) expect(await write(replicas, `s${i}`, 'v1')).toBe(true);
    await waitFor(() => set.converged(replicas, writes), { timeoutMs: 60_000, what: 'every key Ready on every replica' });

    const watched = replicas[1]!;
    const watch = await WatchClient.open(watched.url, { token: ADMIN });
    expect(watch.status).toBe(200);

    // A writer across every replica while PostgreSQL restarts (fast: sessions end, commits are kept).
    let writing = true;
    const load = (async () => {
      let n = 0;
      while (writing) await write(set.alive(), `s${n++ % 9}`, `v2-${n}`);
    })();
    await waitFor(() => acknowledged.get('s8')?.startsWith('v2-'), { what: 'writes under load' });
    await pgServer.restart('fast');
    const acksAtRestart = writes.acks;

    // A leader again (a replica that lost its lease meanwhile exits, as designed), seen by every replica alive.
    await waitFor(async () => {
      const live = set.alive();
      if (live.length === 0) throw new Error(`every replica exited:\n${replicas.map((r) => r.output()).join('\n')}`);
      const seen = await Promise.all(live.map((r) => set.leaderSeenBy(r).catch(() => undefined)));
      return seen.every((l) => l && l.id === seen[0]!.id && live.some((r) => r.url === l.url));
    }, { timeoutMs: TAKEOVER_DEADLINE_MS + 30_000, what: 'a leader again after the restart' });
    await waitFor(() => writes.acks >= acksAtRestart + 9, { timeoutMs: 60_000, what: 'writes accepted again after the restart' });
    writing = false;
    await load;
    await waitFor(() => set.converged(set.alive(), writes), { timeoutMs: 60_000, what: 'every acknowledged write kept and converged' });

    // The watch: continued, or resumed from its last event on a replica alive.
    const seenBefore = watch.events.filter((e) => e.type !== 'BOOKMARK' && e.id !== undefined);
    let after: typeof seenBefore = [];
    const reader = set.alive()[0]!;
    const lastRvs = await Promise.all([...acknowledged.keys()].map(async (name) => Number((await set.api(reader, `${SERVERS}/name/${name}`)).json.data.resourceVersion)));
    const finalRv = Math.max(...lastRvs);
    let resumed: WatchClient | undefined;
    if (watch.ended || watched.child.exitCode !== null) {
      const target = set.alive().includes(watched) ? watched : reader;
      resumed = await WatchClient.open(target.url, { token: ADMIN, lastEventId: seenBefore.at(-1)!.id! });
      expect(resumed.status).toBe(200);
      await resumed.waitFor((e) => Number(e.id) >= finalRv, { timeoutMs: 30_000, what: 'the resumed watch to catch up' });
      after = resumed.events.filter((e) => e.type !== 'BOOKMARK' && e.id !== undefined);
    } else {
      await watch.waitFor((e) => Number(e.id) >= finalRv, { timeoutMs: 30_000, what: 'the watch to catch up' });
    }
    const ids = [...watch.events.filter((e) => e.type !== 'BOOKMARK' && e.id !== undefined), ...after].map((e) => Number(e.id));
    expect(ids).toEqual([...new Set(ids)].sort((a, b) => a - b));
    for (const rv of lastRvs) expect(ids).toContain(rv);
    await resumed?.close();
    await watch.close();
  }, 10 * 60_000);
});
