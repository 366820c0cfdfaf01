// The operator flags of issue 6: --metrics-public, --watch-bookmark-interval, --watch-buffer.
import { ConfigError, parseServeConfig, serveHelp } from '../../src/config.js';

const base = ['--no-manifests'];

describe('operator flags', () => {
  it('defaults: /metrics needs a token, bookmarks every 30 s, 1000 events of buffer', () => {
    const c = parseServeConfig(base, {});
    expect(c).toMatchObject({ metricsPublic: false, watchBookmarkIntervalMs: 30_000, watchBufferEvents: 1000 });
  });

  it('reads flags and the environment', () => {
    expect(parseServeConfig([...base, '--metrics-public', '--watch-bookmark-interval', '250ms', '--watch-buffer', '5'], {})).toMatchObject({
      metricsPublic: true,
      watchBookmarkIntervalMs: 250,
      watchBufferEvents: 5,
    });
    expect(parseServeConfig(base, { MCP_CP_METRICS_PUBLIC: 'true', MCP_CP_WATCH_BOOKMARK_INTERVAL: '1m', MCP_CP_WATCH_BUFFER: '50' })).toMatchObject({
      metricsPublic: true,
      watchBookmarkIntervalMs: 60_000,
      watchBufferEvents: 50,
    });
  });

  it.each([
    [['--watch-buffer', '0'], /--watch-buffer: "0" must be a whole number from 1/],
    [['--watch-buffer', 'lots'], /--watch-buffer/],
    [['--watch-bookmark-interval', '0s'], /--watch-bookmark-interval: must be longer than 0/],
    [['--watch-bookmark-interval', 'soon'], /--watch-bookmark-interval: "soon" is not a duration/],
  ])('refuses %j naming the flag', (args, message) => {
    expect(() => parseServeConfig([...base, ...args], {})).toThrow(ConfigError);
    expect(() => parseServeConfig([...base, ...args], {})).toThrow(message);
  });

  it('documents them in --help', () => {
    const help = serveHelp();
    expect(help).toMatch(/--metrics-public +Serve \/metrics without a bearer token/);
    expect(help).toMatch(/--watch-bookmark-interval VALUE/);
    expect(help).toMatch(/--watch-buffer EVENTS/);
  });
});
