// pg-takeover: three replicas on PostgreSQL with a short --lease-duration; the leader is killed (SIGKILL,
// so it releases nothing) and the time until the survivors agree on a new leader is measured, from the
// kill to the first moment both name the same new holder (a higher epoch). The killed replica is replaced
// before the next round. Expected: about the lease (the dead holder's lease must run out on the database
// clock) plus a retry period.
import { SMOKE } from './lib/common.js';
import { benchPostgres, skippedRows } from './lib/postgres.js';
import { replicaSet, settledLeader } from './lib/replicas.js';
import { fmt, summarize } from './lib/stats.js';

export const describe = 'leader takeover after SIGKILL, three replicas on PostgreSQL, short lease';
export const timeoutMs = 900_000;
export const smokeTimeoutMs = 300_000;

const S = SMOKE ? { leaseMs: 2000, rounds: 1 } : { leaseMs: 2000, rounds: 5 };
/** The bound: a new leader within the lease and a few seconds. */
const SLACK_MS = 5000;
const GOAL = `max ≤ lease + ${SLACK_MS / 1000} s`;

export async function run() {
  const postgres = await benchPostgres();
  if (!postgres) return skippedRows(['pg-takeover'], GOAL);
  const set = await replicaSet(postgres, { leaseMs: S.leaseMs });
  const replicas = [];
  try {
    for (let i = 0; i < 3; i++) replicas.push(await set.start());
    const takeovers = [];
    for (let round = 0; round < S.rounds; round++) {
      const old = await settledLeader(replicas);
      const killedAt = performance.now();
      await old.replica.kill();
      const survivors = replicas.filter((r) => r !== old.replica);
      const next = await settledLeader(survivors, S.leaseMs + 60_000);
      const ms = performance.now() - killedAt;
      if (next.epoch <= old.epoch) throw new Error(`the new leader's epoch ${next.epoch} is not above ${old.epoch}`);
      takeovers.push(ms);
      process.stderr.write(`  · round ${round + 1}: leader ${old.id} (epoch ${old.epoch}) killed; ${next.id} leads (epoch ${next.epoch}) after ${fmt(ms)} ms\n`);
      await old.replica.stop();
      replicas.splice(replicas.indexOf(old.replica), 1, await set.start());
    }
    const t = summarize(takeovers);
    return [
      {
        figure: 'pg-takeover',
        measured: `median ${fmt(t.p50)} ms, max ${fmt(t.max)} ms`,
        baseline: `lease ${fmt(S.leaseMs)} ms`,
        ratio: t.p50 / S.leaseMs,
        goal: GOAL,
        met: t.max <= S.leaseMs + SLACK_MS,
        note: `${S.rounds} SIGKILLs of the leader of 3 replicas (--lease-duration ${S.leaseMs}ms); from the kill until both survivors name one new leader`,
      },
    ];
  } finally {
    for (const r of replicas) await r.stop();
  }
}
