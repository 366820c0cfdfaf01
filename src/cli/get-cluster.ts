// mcpctl get cluster: the replicas and the leader (GET /api/svc/v1/cluster; an admin token).
import type { ClusterStatus } from '../cluster/cluster-view.js';
import { API_PREFIX, describeError, type ApiClient } from './client.js';
import { now, usageError } from './command.js';
import { EXIT_FAILED, EXIT_OK, type CliIo } from './io.js';
import { formatAge, formatTable, writeMachine } from './output.js';

export async function getCluster(client: ApiClient, io: CliIo, names: readonly string[], output: string | undefined): Promise<number> {
  if (names.length > 0) return usageError(io, 'get', `get cluster takes no NAME, got ${names.join(' ')}`);
  let cluster: ClusterStatus;
  try {
    cluster = await client.request<ClusterStatus>('GET', `${API_PREFIX}/cluster`);
  } catch (err) {
    io.stderr.write(`error: ${describeError(err)}\n`);
    return EXIT_FAILED;
  }
  if (output === 'json' || output === 'yaml') {
    writeMachine(io.stdout, output, cluster);
    return EXIT_OK;
  }
  const at = now(io);
  const leader = cluster.leader;
  io.stdout.write(
    leader
      ? `Leader: ${leader.id} (epoch ${leader.epoch}, for ${formatAge(leader.since, at)})\n`
      : 'Leader: none (no replica holds the lease; an election is under way)\n',
  );
  const rows = cluster.replicas.map((r) => [
    r.id === cluster.self.id ? `${r.id} (this)` : r.id,
    r.leader ? 'leader' : 'follower',
    r.url,
    r.version,
    r.live ? `${formatAge(r.lastSeen, at)} ago` : `${formatAge(r.lastSeen, at)} ago (gone)`,
  ]);
  io.stdout.write(formatTable(['REPLICA', 'ROLE', 'URL', 'VERSION', 'LAST SEEN'], rows));
  return EXIT_OK;
}
