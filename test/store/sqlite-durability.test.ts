// --durability: the resource store's connection runs at the `synchronous` the flag says (full by default,
// so an acknowledged write survives power loss), and a value that is not one is refused naming the flag.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, parseServeConfig } from '../../src/config.js';
import { resourceViews } from '../../src/http/resource-view.js';
import { SqliteResourceStore } from '../../src/store/sqlite/index.js';
import { startTestControlPlane, testStoreIsPostgres } from '../support/control-plane.js';

const BASE = ['--no-manifests'];

describe('--durability', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'mcp-cp-durability-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('opens the resource store with synchronous=FULL unless told normal', async () => {
    const full = new SqliteResourceStore({ path: join(dir, 'a.db'), views: resourceViews });
    const normal = new SqliteResourceStore({ path: join(dir, 'b.db'), views: resourceViews, durability: 'normal' });
    try {
      expect(full.durability()).toBe('full');
      expect(normal.durability()).toBe('normal');
    } finally {
      await full.close();
      await normal.close();
    }
  });

  it('reports the chosen durability inside every unit, derived (the reconciler\'s) or not', async () => {
    const full = new SqliteResourceStore({ path: join(dir, 'a.db'), views: resourceViews });
    const normal = new SqliteResourceStore({ path: join(dir, 'b.db'), views: resourceViews, durability: 'normal' });
    try {
      // Every commit runs at synchronous=NORMAL; full is the WAL's fsync before the answer (sqlite-wal-sync.test.ts).
      expect(await full.transaction(async () => full.durability(), { derived: true })).toBe('full');
      expect(await full.transaction(async () => full.durability())).toBe('full');
      await expect(full.transaction(async () => Promise.reject(new Error('no')), { derived: true })).rejects.toThrow('no');
      expect(full.durability()).toBe('full');
      expect(await normal.transaction(async () => normal.durability(), { derived: true })).toBe('normal');
      expect(normal.durability()).toBe('normal');
    } finally {
      await full.close();
      await normal.close();
    }
  });

  it('is full by default, and normal from the flag or MCP_CP_DURABILITY', () => {
    expect(parseServeConfig(BASE, {}).durability).toBe('full');
    expect(parseServeConfig([...BASE, '--durability', 'normal'], {}).durability).toBe('normal');
    expect(parseServeConfig(BASE, { MCP_CP_DURABILITY: 'normal' }).durability).toBe('normal');
    expect(parseServeConfig([...BASE, '--durability', 'full'], { MCP_CP_DURABILITY: 'normal' }).durability).toBe('full');
  });

  it('refuses a value that is not a durability, naming the flag and the choices', () => {
    expect(() => parseServeConfig([...BASE, '--durability', 'fsync'], {})).toThrow(ConfigError);
    expect(() => parseServeConfig([...BASE, '--durability', 'fsync'], {})).toThrow(/--durability: "fsync" is not a durability; use full .* or normal/);
  });

  it('refuses normal with PostgreSQL, whose synchronous_commit decides', () => {
    expect(() => parseServeConfig([...BASE, '--store', 'postgres://u:p@127.0.0.1:5432/db', '--durability', 'normal'], {})).toThrow(/--durability: normal applies to the SQLite store only.*synchronous_commit/);
  });

  (testStoreIsPostgres() ? it.skip : it).each([
    [[], 'full'],
    [['--durability', 'normal'], 'normal'],
  ] as const)('a control plane started with %j runs its store at %s', async (args, expected) => {
    const cp = await startTestControlPlane({ args: [...args] });
    try {
      expect(cp.store).toBeInstanceOf(SqliteResourceStore);
      expect((cp.store as SqliteResourceStore).durability()).toBe(expected);
    } finally {
      await cp.dispose();
    }
  });
});
