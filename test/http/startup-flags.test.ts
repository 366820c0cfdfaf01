// Startup flags an operator gets wrong: a duration without a unit, and a wildcard --host without
// --public-url (which would make proxy URLs of http://0.0.0.0:…).
import { ConfigError, parseServeConfig } from '../../src/config.js';
import { defaultPublicUrl } from '../../src/main.js';

describe('durations need a unit', () => {
  it.each([
    ['--resync-interval', '30', 'resync-interval'],
    ['--discovery-timeout', '10', 'discovery-timeout'],
    ['--prune-quiet-period', '2.5', 'prune-quiet-period'],
  ])('%s %s is refused, naming the flag and an example', (flag, value, name) => {
    const parse = () => parseServeConfig(['--no-manifests', flag, value], {});
    expect(parse).toThrow(ConfigError);
    expect(parse).toThrow(`--${name}: "${value}" needs a unit; write e.g. ${value}s (units: ms, s, m, h).`);
  });

  it('refuses a bare number from the environment too, and accepts units and a bare 0', () => {
    expect(() => parseServeConfig(['--no-manifests'], { MCP_CP_DISCOVERY_INTERVAL: '300' })).toThrow('--discovery-interval: "300" needs a unit');
    expect(parseServeConfig(['--no-manifests', '--resync-interval', '0', '--discovery-timeout', '1500ms'], {})).toMatchObject({ resyncIntervalMs: 0, discoveryTimeoutMs: 1500 });
  });
});

describe('a wildcard --host without --public-url', () => {
  const iface = (address: string, family: 'IPv4' | 'IPv6', internal = false) => ({ address, family, internal, netmask: '', mac: '', cidr: null, ...(family === 'IPv6' ? { scopeid: 0 } : {}) }) as never;

  it('builds the public URL from the first non-loopback IPv4 interface, and says so', () => {
    const answer = defaultPublicUrl('0.0.0.0', 8080, { lo: [iface('127.0.0.1', 'IPv4', true)], eth0: [iface('fe80::1', 'IPv6'), iface('10.1.2.3', 'IPv4')] });
    expect(answer).toEqual({ localUrl: 'http://127.0.0.1:8080', publicUrl: 'http://10.1.2.3:8080', why: 'the address of interface eth0' });
  });

  it('falls back to loopback when there is no other interface, and says so', () => {
    expect(defaultPublicUrl('0.0.0.0', 8080, { lo: [iface('127.0.0.1', 'IPv4', true)] })).toEqual({
      localUrl: 'http://127.0.0.1:8080',
      publicUrl: 'http://127.0.0.1:8080',
      why: 'no non-loopback interface was found, so the loopback address',
    });
  });

  it('takes an IPv6 address for :: when there is no IPv4 one (never link-local)', () => {
    expect(defaultPublicUrl('::', 9000, { eth0: [iface('fe80::1', 'IPv6'), iface('2001:db8::5', 'IPv6')] })?.publicUrl).toBe('http://[2001:db8::5]:9000');
  });

  it('leaves a real host alone', () => {
    expect(defaultPublicUrl('127.0.0.1', 8080, {})).toBeUndefined();
    expect(defaultPublicUrl('10.1.2.3', 8080, {})).toBeUndefined();
  });
});
