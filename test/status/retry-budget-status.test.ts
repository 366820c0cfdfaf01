// What an operator sees of the retry budget (--discovery-retry-rate), through the real control plane on
// an injected clock: servers on a dead port fail together; while the budget has room a server keeps the
// promised bound ("Next attempt within 5 s."), the ones the budget pushes past it say so and by which
// flag, and /metrics counts the retries waiting on the budget. A bad value is refused naming the flag.
import { ConfigError, parseServeConfig } from '../../src/config.js';
import { remoteManifest, startTestControlPlane, type TestControlPlane } from '../support/control-plane.js';
import { FakeClock } from '../support/fake-clock.js';
import { freePort } from '../support/peer-process.js';
import { condition, putServer, waitForReady } from '../support/servers-api.js';

const SERVERS = 10;
let cp: TestControlPlane | undefined;
afterEach(async () => {
  await cp?.dispose();
  cp = undefined;
});

async function metric(name: string): Promise<number> {
  const res = await cp!.api('/metrics');
  const line = res.text.split('\n').find((l) => l.startsWith(`${name} `));
  if (!line) throw new Error(`/metrics has no ${name}`);
  return Number(line.slice(name.length + 1));
}

it('states the bound each failing server keeps, says when the budget pushed a retry past it, and counts those', async () => {
  // The clock stands still: every server fails at the same instant, the first time.
  const clock = new FakeClock(Date.parse('2026-01-01T00:00:00Z'));
  cp = await startTestControlPlane({ clock, args: ['--resync-interval', '0', '--discovery-retry-rate', '1/s'] });
  const url = `http://127.0.0.1:${await freePort()}/mcp`;
  const names = Array.from({ length: SERVERS }, (_, i) => `down-${i}`);
  for (const name of names) await putServer(cp, remoteManifest({ name, url }));

  const messages: string[] = [];
  for (const name of names) messages.push(condition(await waitForReady(cp, name, 'False', { reason: 'Unreachable' }), 'Ready')!.message);
  // One retry a second: the first in its own time (1 s), the other nine one a second after it; those
  // pushed past 5 s say so, the rest keep the promise.
  const kept = messages.filter((m) => m.endsWith('Next attempt within 5 s.'));
  const pushed = messages.filter((m) => /Next attempt within 10 s: many servers are failing at once, and their retries are spread to 1 a second \(--discovery-retry-rate\)\.$/.test(m));
  expect(kept.length + pushed.length).toBe(SERVERS);
  expect(pushed.length).toBeGreaterThanOrEqual(4);
  expect(kept.length).toBeGreaterThanOrEqual(5);
  expect(await metric('mcp_cp_discovery_retries_waiting_on_budget')).toBe(SERVERS - 1);
});

it('counts nothing waiting while the budget is off', async () => {
  const clock = new FakeClock(Date.parse('2026-01-01T00:00:00Z'));
  cp = await startTestControlPlane({ clock, args: ['--resync-interval', '0', '--discovery-retry-rate', 'off'] });
  const url = `http://127.0.0.1:${await freePort()}/mcp`;
  for (let i = 0; i < 3; i++) await putServer(cp, remoteManifest({ name: `down-${i}`, url }));
  for (let i = 0; i < 3; i++) {
    const server = await waitForReady(cp, `down-${i}`, 'False', { reason: 'Unreachable' });
    expect(condition(server, 'Ready')!.message).toMatch(/Next attempt within 5 s\.$/);
  }
  expect(await metric('mcp_cp_discovery_retries_waiting_on_budget')).toBe(0);
});

it('refuses a value that is not a rate, naming the flag and what would be right', () => {
  const parse = (value: string) => parseServeConfig(['--no-manifests', '--discovery-retry-rate', value], {});
  expect(() => parse('fast')).toThrow(ConfigError);
  expect(() => parse('fast')).toThrow('--discovery-retry-rate: "fast" is not a rate; use e.g. 20/s, 300/m or 1000/h (or off).');
  expect(parse('600/m').discoveryRetryRate).toEqual({ count: 600, perMs: 60_000 });
  expect(parse('off').discoveryRetryRate).toBeUndefined();
  expect(parseServeConfig(['--no-manifests'], {}).discoveryRetryRate).toEqual({ count: 10, perMs: 1000 });
});
