// Three replicas on one PostgreSQL, each a real `mcpctl serve` process (from the TypeScript sources), a
// real upstream MCP server and clients over HTTP. Writes are spread across the replicas; the leader is
// killed (SIGKILL) under write load, later frozen (SIGSTOP) and woken (SIGCONT), and last stopped (SIGTERM). Asserted: no
// acknowledged write is lost, a new leader takes over within the lease and a few seconds, every key
// converges on every replica, the woken old leader writes nothing (it finds its lease gone and exits 1),
// and a watch client resumes on a surviving replica without gaps or repeats.
import { WatchClient } from '../http/watch-client.js';
import { waitFor } from '../support/control-plane.js';
import { requirePostgres } from '../support/postgres.js';
import { AcknowledgedWrites, REPLICA_ADMIN_TOKEN as ADMIN, replicaSuite, SERVERS, TAKEOVER_DEADLINE_MS, type Replica } from '../support/replicas.js';

const { describe } = requirePostgres();

describe('three replicas on one PostgreSQL', () => {
  const suite = replicaSuite();

  it('elects one leader, spreads writes across replicas, survives the leader\'s SIGKILL, SIGSTOP and SIGTERM without losing an acknowledged write', () => suite.set.explainFailure(async () => {
    const { set, replicas } = suite;
    // One leader, seen alike by all three.
    const first = await waitFor(async () => {
      const seen = await Promise.all(replicas.map((r) => set.leaderSeenBy(r)));
      return seen.every((l) => l && l.id === seen[0]!.id) && (await set.api(replicas[0]!, '/api/svc/v1/cluster')).json.replicas.length === 3 ? seen[0] : undefined;
    }, { timeoutMs: 60_000, what: 'one leader seen by all three replicas' });
    const leader = replicas.find((r) => r.url === first!.url)!;

    // Writes spread across the replicas; every acknowledged one is remembered.
    const writes = new AcknowledgedWrites(set);
    const { acknowledged } = writes;
    const write = (targets: Replica[], name: string, description: string) => writes.write(targets, name, description);
    for (let i = 0; i < 9; i++) expect(await write(replicas, `s${i}`, 'v1')).toBe(true);
    await waitFor(() => set.converged(replicas, writes), { timeoutMs: 60_000, what: 'every key Ready on every replica' });

    // A watch client on the leader, from now on.
    const watchOnLeader = await WatchClient.open(leader.url, { token: ADMIN });
    expect(watchOnLeader.status).toBe(200);

    // SIGKILL of the leader while writes keep coming (to every replica: those sent to the dead one fail and are not acknowledged).
    const survivors = replicas.filter((r) => r !== leader);
    let writing = true;
    const load = (async () => {
      let n = 0;
      while (writing) await write(replicas, `s${n++ % 9}`, `v2-${n}`);
    })();
    await waitFor(() => acknowledged.get('s8')?.startsWith('v2-'), { what: 'writes under load' });
    leader.child.kill('SIGKILL');
    await leader.exited;
    const second = await waitFor(async () => {
      const l = await set.leaderSeenBy(survivors[0]!);
      return l && l.id !== first!.id ? l : undefined;
    }, { timeoutMs: TAKEOVER_DEADLINE_MS, what: 'a new leader after SIGKILL' });
    expect(second!.epoch).toBeGreaterThan(first!.epoch);
    const acksAtTakeover = writes.acks;
    await waitFor(() => writes.acks >= acksAtTakeover + 9, { what: 'writes after the takeover' });
    writing = false;
    await load;
    await waitFor(() => set.converged(survivors, writes), { timeoutMs: 60_000, what: 'every key to converge after the takeover' });

    // The watch client lost its stream with the leader; it resumes on a survivor from its last event.
    await waitFor(() => watchOnLeader.ended, { what: 'the watch on the killed leader to end' });
    const seenBefore = watchOnLeader.events.filter((e) => e.type !== 'BOOKMARK' && e.id !== undefined);
    const lastId = seenBefore.at(-1)!.id!;
    const resumed = await WatchClient.open(survivors[0]!.url, { token: ADMIN, lastEventId: lastId });
    expect(resumed.status).toBe(200);
    const lastRvs = await Promise.all([...acknowledged.keys()].map(async (name) => Number((await set.api(survivors[0]!, `${SERVERS}/name/${name}`)).json.data.resourceVersion)));
    const finalRv = Math.max(...lastRvs);
    await resumed.waitFor((e) => Number(e.id) >= finalRv, { timeoutMs: 30_000, what: 'the resumed watch to catch up' });
    const ids = [...seenBefore, ...resumed.events.filter((e) => e.type !== 'BOOKMARK' && e.id !== undefined)].map((e) => Number(e.id));
    // Strictly increasing: no repeat, in order.
    expect(ids).toEqual([...new Set(ids)].sort((a, b) => a - b));
    // No gap: the last change of every server is among what was seen.
    for (const rv of lastRvs) expect(ids).toContain(rv);
    await resumed.close();
    await watchOnLeader.close();

    // SIGSTOP of the new leader: a third takes over; SIGCONT: the old one finds its lease gone, writes nothing and exits 1.
    const frozen = survivors.find((r) => r.url === second!.url)!;
    const other = survivors.find((r) => r !== frozen)!;
    frozen.child.kill('SIGSTOP');
    const third = await waitFor(async () => {
      const l = await set.leaderSeenBy(other);
      return l && l.id !== second!.id ? l : undefined;
    }, { timeoutMs: TAKEOVER_DEADLINE_MS, what: 'a new leader while the old one is frozen' });
    expect(third!.epoch).toBeGreaterThan(second!.epoch);
    for (let i = 0; i < 9; i++) expect(await write([other], `s${i}`, 'v3')).toBe(true);
    frozen.child.kill('SIGCONT');
    expect(await frozen.exited).toBe(1);
    expect(frozen.output()).toMatch(/lost the leader lease/);
    // The woken leader wrote nothing: every key holds its last acknowledged value and the leader is unchanged.
    await waitFor(() => set.converged([other], writes), { timeoutMs: 60_000, what: 'every key to converge after the freeze' });
    expect((await set.leaderSeenBy(other))?.id).toBe(third!.id);

    // SIGTERM of the leader: it releases the lease on its way out, and a new replica takes over at its next try.
    const fresh = await set.start('r4');
    other.child.kill('SIGTERM');
    expect(await other.exited).toBe(0);
    const fourth = await waitFor(async () => {
      const l = await set.leaderSeenBy(fresh);
      return l && l.id !== third!.id ? l : undefined;
    }, { timeoutMs: TAKEOVER_DEADLINE_MS, what: 'the new replica to lead after SIGTERM' });
    expect(fourth!.epoch).toBe(third!.epoch + 1);
    expect(fourth!.url).toBe(fresh.url);
    await waitFor(() => set.converged([fresh], writes), { timeoutMs: 60_000, what: 'every key on the new leader' });
  }), 10 * 60_000);
});
