// Manifest generators: realistic mcp-server/remote manifests (collaborators, a secret header, tool
// settings, tags), PUT bodies, and directories of multi-document YAML files.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';

export function serverName(i) {
  return `bench-${String(i).padStart(6, '0')}`;
}

export function fqnOf(i, tenant = 'default') {
  return `${tenant}:mcp-server:${serverName(i)}`;
}

/** Server i; `rev` goes into the description, so a new rev is a spec change (a new generation). */
export function manifest(i, { url, rev = 0 } = {}) {
  return {
    type: 'mcp-server/remote',
    name: serverName(i),
    description: `Benchmark server ${i}, revision ${rev}`,
    url,
    collaborators: [
      { subject: 'team:everyone', role_id: 'mcp-server-user' },
      { subject: `user:owner-${i % 97}@example.com`, role_id: 'mcp-server-manager' },
    ],
    auth_data: { type: 'header', headers: { Authorization: `Bearer bench-secret-${i}` } },
    tool_settings: [
      { name: 'delete_everything', disabled: true },
      { name: 'search', description: 'Search the benchmark corpus' },
    ],
    tags: { team: `team-${i % 10}`, env: 'bench' },
  };
}

export function putBody(i, options) {
  return JSON.stringify({ manifest: manifest(i, options), ...(options?.dryRun ? { dryRun: true } : {}) });
}

export function yamlDocuments(manifests) {
  return manifests.map((m) => stringify(m)).join('---\n');
}

export function fileNameOf(fileIndex) {
  return `servers-${String(fileIndex).padStart(5, '0')}.yaml`;
}

/**
 * Writes `servers` manifests, `perFile` to a file, into dir: server i is `manifestOf(i)` (by default
 * `manifest(i, { url })`). Answers the files with the server indices each declares, so a bench can
 * rewrite one file with a new revision of one server.
 */
export function writeManifestDirectory(dir, { servers, perFile, url, manifestOf = (i) => manifest(i, { url }) }) {
  mkdirSync(dir, { recursive: true });
  const files = [];
  for (let start = 0, f = 0; start < servers; start += perFile, f++) {
    const indices = [];
    for (let i = start; i < Math.min(servers, start + perFile); i++) indices.push(i);
    const path = join(dir, fileNameOf(f));
    writeFileSync(path, yamlDocuments(indices.map(manifestOf)));
    files.push({ path, indices });
  }
  return files;
}
