// /metrics carries the process's own metrics but none that walk libuv's handle objects
// (process._getActiveHandles / _getActiveRequests), which can abort Node 20 mid-scrape when a handle is
// being torn down; nodejs_active_resources counts the same by type without touching them.
import { HANDLE_WALKING_METRICS } from '../../src/metrics/process-metrics.js';
import { startTestControlPlane, type TestControlPlane } from '../support/control-plane.js';

/** The value of an unlabelled sample; undefined when absent. */
const sample = (text: string, name: string) => {
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line === undefined ? undefined : Number(line.slice(name.length + 1));
};

let cp: TestControlPlane | undefined;
afterEach(async () => {
  await cp?.dispose();
  cp = undefined;
});

it('serves the process metrics without those that walk handle objects', async () => {
  cp = await startTestControlPlane({ args: ['--resync-interval', '0'] });
  const res = await cp.api('/metrics');
  expect(res.status).toBe(200);
  expect(sample(res.text, 'process_cpu_user_seconds_total')).toBeGreaterThan(0);
  expect(sample(res.text, 'nodejs_active_resources_total')).toBeGreaterThan(0);
  for (const name of HANDLE_WALKING_METRICS) expect(res.text).not.toMatch(new RegExp(`^${name}[ {]`, 'm'));
  expect(HANDLE_WALKING_METRICS).toContain('nodejs_active_handles');
});
