// SERVE_FLAGS is the one source of each flag's default, bounds and environment variable: parsing and
// --help both read it.
import { ConfigError, parseServeConfig, SERVE_FLAGS, serveHelp, type ServeFlag } from '../../src/config.js';

const ROWS = SERVE_FLAGS as readonly ServeFlag[];
const VALUED = ROWS.filter((f) => f.type !== 'boolean' && !f.describedDefault);
const BASE = ['--no-manifests'];

describe('the serve flag table', () => {
  it('has a value default for every flag parsing falls back on', () => {
    expect(VALUED.map((f) => f.flag)).toEqual(expect.arrayContaining(['host', 'port', 'workers', 'discovery-timeout', 'watch-buffer', 'upstream-max-message-bytes']));
  });

  it.each(VALUED.map((f) => [f.flag, f] as const))('parses --%s absent as its --help default', (_name, row) => {
    const absent = parseServeConfig(BASE, {});
    expect(parseServeConfig([...BASE, `--${row.flag}`, row.default], {})).toEqual(absent);
    if (row.env) expect(parseServeConfig(BASE, { [row.env]: row.default })).toEqual(absent);
  });

  it.each(ROWS.filter((f) => f.count).map((f) => [f.flag, f] as const))('keeps --%s within its bounds and says them', (_name, row) => {
    const { min, max } = row.count!;
    const said = `must be a whole number from ${min} to ${max}`;
    for (const bad of [String(max + 1), ...(min > 0 ? [String(min - 1)] : []), 'many']) {
      expect(() => parseServeConfig([...BASE, `--${row.flag}`, bad], {})).toThrow(ConfigError);
      expect(() => parseServeConfig([...BASE, `--${row.flag}`, bad], {})).toThrow(said);
    }
    expect(() => parseServeConfig([...BASE, `--${row.flag}`, String(max)], {})).not.toThrow();
    expect(serveHelp()).toMatch(new RegExp(`--${row.flag} [A-Z]+[\\s\\S]*?default ${row.default}; from ${min} to ${max}`));
  });

  it('keeps a duration within its bounds and says them in --help', () => {
    expect(() => parseServeConfig([...BASE, '--discovery-timeout', '0s'], {})).toThrow('--discovery-timeout: must be longer than 0.');
    expect(() => parseServeConfig([...BASE, '--prune-quiet-period', '61m'], {})).toThrow('--prune-quiet-period: must be at most 1h');
    expect(parseServeConfig([...BASE, '--prune-quiet-period', '1h'], {}).pruneQuietPeriodMs).toBe(3_600_000);
    expect(serveHelp()).toMatch(/--discovery-timeout VALUE[\s\S]*?default 10s; longer than 0; env MCP_CP_DISCOVERY_TIMEOUT/);
    expect(serveHelp()).toMatch(/--prune-quiet-period VALUE[\s\S]*?default 5s; at most 1h; env MCP_CP_PRUNE_QUIET_PERIOD/);
  });
});
