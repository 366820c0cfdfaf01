import { ConfigError, parseServeConfig, serveHelp } from '../../src/config.js';

const parse = (args: string[], env: NodeJS.ProcessEnv = {}) => parseServeConfig(['--no-manifests', ...args], env).upstreamLimits;

describe('--upstream-max-message-bytes and --upstream-max-response-bytes', () => {
  it('default to 4 MiB and 16 MiB', () => {
    expect(parse([])).toEqual({ maxMessageBytes: 4 * 1024 * 1024, maxResponseBytes: 16 * 1024 * 1024 });
  });

  it('take bytes or KiB/MiB/GiB, from the flag or the environment', () => {
    expect(parse(['--upstream-max-message-bytes', '65536', '--upstream-max-response-bytes', '1GiB'])).toEqual({ maxMessageBytes: 65536, maxResponseBytes: 1024 ** 3 });
    expect(parse([], { MCP_CP_UPSTREAM_MAX_MESSAGE_BYTES: '512KiB', MCP_CP_UPSTREAM_MAX_RESPONSE_BYTES: '2mib' })).toEqual({ maxMessageBytes: 512 * 1024, maxResponseBytes: 2 * 1024 * 1024 });
  });

  it.each(['0', '1000', '4MB', '1.5MiB', '5GiB', 'lots'])('refuses %s, naming the flag', (value) => {
    expect(() => parse(['--upstream-max-message-bytes', value])).toThrow(ConfigError);
    expect(() => parse(['--upstream-max-message-bytes', value])).toThrow(/--upstream-max-message-bytes: .* use e\.g\. 65536, 512KiB or 4MiB/);
  });

  it('are in --help with their defaults', () => {
    expect(serveHelp()).toMatch(/--upstream-max-message-bytes SIZE[\s\S]*default 4MiB/);
    expect(serveHelp()).toMatch(/--upstream-max-response-bytes SIZE[\s\S]*default 16MiB/);
  });
});
