// The serve flags of the watched-directory source: --manifests (repeatable), MANIFESTS_DIR,
// --no-manifests, the ./manifests default, --allow-empty-prune, --prune-quiet-period.
import { mkdirSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { ConfigError, parseServeConfig, serveHelp } from '../../src/config.js';
import { tempDir } from './helpers.js';

/** Runs fn with the working directory set to dir (the ./manifests default is relative to it). */
function inDirectory<T>(dir: string, fn: () => T): T {
  const previous = process.cwd();
  process.chdir(dir);
  try {
    return fn();
  } finally {
    process.chdir(previous);
  }
}

describe('serve flags for manifest directories', () => {
  let dir: string;
  let cleanup: () => void;
  beforeEach(() => {
    ({ dir, cleanup } = tempDir('mcp-cp-config-'));
  });
  afterEach(() => cleanup());

  it('defaults to ./manifests only when it is a directory', () => {
    expect(inDirectory(dir, () => parseServeConfig([], {}).manifestDirs)).toEqual([]);
    mkdirSync(join(dir, 'manifests'));
    expect(inDirectory(dir, () => parseServeConfig([], {}))).toMatchObject({ manifestDirs: ['./manifests'], allowEmptyPrune: false });
  });

  it('takes --manifests repeatedly, over MANIFESTS_DIR', () => {
    const env = { MANIFESTS_DIR: ['/env/one', '/env/two'].join(delimiter) };
    expect(parseServeConfig(['--manifests', '/a', '--manifests', '/b'], env).manifestDirs).toEqual(['/a', '/b']);
    expect(parseServeConfig(['--manifests=/a'], {}).manifestDirs).toEqual(['/a']);
    expect(parseServeConfig([], env).manifestDirs).toEqual(['/env/one', '/env/two']);
  });

  it('turns watching off with --no-manifests, and refuses it together with --manifests', () => {
    mkdirSync(join(dir, 'manifests'));
    expect(inDirectory(dir, () => parseServeConfig(['--no-manifests'], { MANIFESTS_DIR: '/env' }).manifestDirs)).toEqual([]);
    expect(() => parseServeConfig(['--no-manifests', '--manifests', '/a'], {})).toThrow(
      new ConfigError('--no-manifests: cannot be combined with --manifests; pass one or the other.'),
    );
  });

  it('reads --allow-empty-prune and MCP_CP_ALLOW_EMPTY_PRUNE', () => {
    expect(parseServeConfig(['--allow-empty-prune', '--no-manifests'], {}).allowEmptyPrune).toBe(true);
    expect(parseServeConfig(['--no-manifests'], { MCP_CP_ALLOW_EMPTY_PRUNE: 'true' }).allowEmptyPrune).toBe(true);
    expect(parseServeConfig(['--no-manifests'], { MCP_CP_ALLOW_EMPTY_PRUNE: '0' }).allowEmptyPrune).toBe(false);
    expect(() => parseServeConfig(['--no-manifests'], { MCP_CP_ALLOW_EMPTY_PRUNE: 'maybe' })).toThrow(
      '--allow-empty-prune: MCP_CP_ALLOW_EMPTY_PRUNE="maybe" is not a boolean; use true or false.',
    );
    expect(() => parseServeConfig(['--allow-empty-prune=yes'], {})).toThrow(/--allow-empty-prune/);
    expect(() => parseServeConfig(['--manifests', ''], {})).toThrow('--manifests: needs a directory.');
  });

  it('reads --prune-quiet-period and MCP_CP_PRUNE_QUIET_PERIOD: 5s by default, 0 to 1h', () => {
    expect(parseServeConfig(['--no-manifests'], {}).pruneQuietPeriodMs).toBe(5000);
    expect(parseServeConfig(['--no-manifests', '--prune-quiet-period', '250ms'], {}).pruneQuietPeriodMs).toBe(250);
    expect(parseServeConfig(['--no-manifests'], { MCP_CP_PRUNE_QUIET_PERIOD: '0' }).pruneQuietPeriodMs).toBe(0);
    expect(() => parseServeConfig(['--no-manifests', '--prune-quiet-period', 'soon'], {})).toThrow(/--prune-quiet-period: "soon" is not a duration/);
    expect(() => parseServeConfig(['--no-manifests', '--prune-quiet-period', '2h'], {})).toThrow('--prune-quiet-period: must be at most 1h');
    expect(serveHelp()).toMatch(/--prune-quiet-period VALUE\s+A file that no longer declares/);
  });

  it('documents the flags in --help', () => {
    const help = serveHelp();
    expect(help).toMatch(/--manifests DIR\s+A directory of manifests/);
    expect(help).toContain('env MANIFESTS_DIR; repeatable');
    expect(help).toMatch(/--no-manifests\s+Watch no manifest directory/);
    expect(help).toMatch(/--allow-empty-prune\s+Let a sync/);
    expect(help).toContain('env MCP_CP_ALLOW_EMPTY_PRUNE');
    expect(help).toMatch(/--port VALUE\s+Port to listen on/);
  });
});
