// A fleet of servers shaped like a real one, as watched manifest files, and what the control plane's
// /metrics says about it. Server i belongs to a shard of SHARD (a tag `shard`, and the shard's team as the
// collaborator that may use it) and to one of 10 teams (a tag `team`); its URL is the caller's (an
// endpoint of bench/lib/upstream-fleet.js). One viewer token, a member of shard 3's team, reads one shard.
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { SMOKE } from './common.js';
import { callJson, expectOk } from './http.js';
import { manifest, writeManifestDirectory, yamlDocuments } from './manifests.js';

export const SHARD = SMOKE ? 10 : 100;
/** The shard the viewer token reads. */
export const VIEWER_SHARD = 'shard-3';

/** Server i of a sharded fleet: readable by its shard's team, tagged with its shard and team. */
export function shardedManifest(i, url, rev = 0) {
  const m = manifest(i, { url, rev });
  const shard = `shard-${Math.floor(i / SHARD)}`;
  return {
    ...m,
    collaborators: [
      { subject: `team:${shard}`, role_id: 'mcp-server-user' },
      { subject: `user:owner-${i % 97}@example.com`, role_id: 'mcp-server-manager' },
    ],
    tags: { ...m.tags, shard },
  };
}

/**
 * Writes servers 0..n-1, perFile to a file, server i at urlOf(i). Answers the files with the indices
 * each declares, so a bench can rewrite one file with a new revision of one server.
 */
export function writeShardedDirectory(dir, { servers, perFile, urlOf }) {
  return writeManifestDirectory(dir, { servers, perFile, manifestOf: (i) => shardedManifest(i, urlOf(i)) });
}

/** The YAML of one file; `revOf(i)` puts a revision into a server's description (a spec change). */
export function shardedDocuments(indices, urlOf, revOf = () => 0) {
  return yamlDocuments(indices.map((i) => shardedManifest(i, urlOf(i), revOf(i))));
}

/** A tokens file (in dir) with one viewer of VIEWER_SHARD; the watched files put servers in the default account. */
export function writeViewerTokens(dir, token) {
  const path = join(dir, 'tokens.yaml');
  const entry = {
    token_sha256: createHash('sha256').update(token).digest('hex'),
    subject: { type: 'user', slug: 'viewer@example.com', displayName: 'Viewer' },
    teams: [VIEWER_SHARD],
    role: 'viewer',
  };
  writeFileSync(path, stringify([entry]));
  return path;
}

// ---------------------------------------------------------------------------------------------------
// /metrics

/** The control plane's /metrics, reduced to the figures benches wait for and report. */
export async function scrape(cp) {
  const r = await expectOk(callJson(cp.url, cp.token, 'GET', '/metrics'), '/metrics');
  const m = { reconciles: 0, discoveries: 0, discoveryFailures: 0, ready: 0, heapUsedMb: NaN };
  for (const line of r.text.split('\n')) {
    if (line.startsWith('#')) continue;
    const value = Number(line.slice(line.lastIndexOf(' ') + 1));
    if (line.startsWith('mcp_cp_reconcile_total{')) m.reconciles += value;
    else if (line.startsWith('mcp_cp_discovery_duration_seconds_count')) m.discoveries += value;
    else if (line.startsWith('mcp_cp_discovery_failures_total')) m.discoveryFailures += value;
    else if (line.startsWith('mcp_cp_resources{ready="True"}')) m.ready = value;
    else if (line.startsWith('nodejs_heap_size_used_bytes ')) m.heapUsedMb = value / 1024 / 1024;
  }
  return m;
}
