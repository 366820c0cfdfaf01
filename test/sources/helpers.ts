// Helpers for the watched-directory tests: temp directories with real files, manifests as YAML text
// with a known line layout, and reads of the sources API.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { TestControlPlane } from '../support/control-plane.js';

export function tempDir(prefix = 'mcp-cp-manifests-'): { dir: string; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export function writeFile(dir: string, rel: string, text: string): void {
  const path = join(dir, ...rel.split('/'));
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, text);
}

/**
 * One manifest document. Lines, 1-based:
 *   1 type, 2 name, 3 description, 4 url, 5 collaborators, 6-7 its entry.
 */
export function serverYaml(name: string, description = `Server ${name}`, url = 'http://127.0.0.1:9/mcp'): string {
  return [
    'type: mcp-server/remote',
    `name: ${name}`,
    `description: ${description}`,
    `url: ${url}`,
    'collaborators:',
    '  - subject: team:everyone',
    '    role_id: mcp-server-user',
    '',
  ].join('\n');
}

export function multiDoc(...docs: string[]): string {
  return docs.join('---\n');
}

export function serverJson(name: string, description = `Server ${name}`): string {
  return `${JSON.stringify(
    {
      type: 'mcp-server/remote',
      name,
      description,
      url: 'http://127.0.0.1:9/mcp',
      collaborators: [{ subject: 'team:everyone', role_id: 'mcp-server-user' }],
    },
    null,
    2,
  )}\n`;
}

export interface FileView {
  path: string;
  contentHash: string | null;
  resources: string[];
  errors: { line: number; col: number; pointer: string; message: string }[];
}

export interface SourceView {
  path: string;
  lastSyncTime: string | null;
  conditions: { type: string; status: string; reason: string; message: string }[];
  files: FileView[];
}

export async function sourceOf(cp: TestControlPlane, root: string, token?: string): Promise<SourceView> {
  const res = await cp.api('/api/svc/v1/sources', token ? { token } : {});
  if (res.status !== 200) throw new Error(`GET /api/svc/v1/sources answered ${res.status}: ${res.text}`);
  const source = (res.json.data as SourceView[]).find((s) => s.path === root);
  if (!source) throw new Error(`no source ${root} in ${res.text}`);
  return source;
}

export async function fileOf(cp: TestControlPlane, root: string, path: string): Promise<FileView | undefined> {
  return (await sourceOf(cp, root)).files.find((f) => f.path === path);
}

export function condition(source: SourceView, type: string) {
  return source.conditions.find((c) => c.type === type);
}

/** The server as the API answers it, or undefined on 404. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function serverOf(cp: TestControlPlane, name: string): Promise<any> {
  const res = await cp.api(`/api/svc/v1/mcp-servers/name/${name}`);
  if (res.status === 404) return undefined;
  if (res.status !== 200) throw new Error(`GET ${name} answered ${res.status}: ${res.text}`);
  return res.json.data;
}

export async function gatewayNames(cp: TestControlPlane): Promise<string[]> {
  const res = await cp.api('/api/svc/v1/gateway/servers');
  return (res.json.data as { fqn: string }[]).map((e) => e.fqn.split(':').pop()!).sort();
}

/** Names of the file-managed servers of one root, as the store holds them. */
export async function storedNames(cp: TestControlPlane, root?: string): Promise<string[]> {
  return (await cp.store
    .list({ tenant: 'default', limit: 100_000, offset: 0, filter: (r) => r.source.kind === 'file' && (root === undefined || r.source.root === root) }))
    .items.map((r) => r.name)
    .sort();
}
