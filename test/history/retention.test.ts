// Retention of revisions through the HTTP server, on an injected clock: the newest --revision-history
// generations per server, and a deleted server's revisions for --revision-retention, then none (and no
// rollback can recreate it any more).
import { parseServeConfig } from '../../src/config.js';
import { FakeClock } from '../support/fake-clock.js';
import { remoteManifest, startTestControlPlane, type TestControlPlane } from '../support/control-plane.js';
import { putServer, SERVERS } from '../support/servers-api.js';

const HOUR = 3_600_000;
let cp: TestControlPlane;
const clock = new FakeClock(Date.parse('2026-03-01T00:00:00Z'));

beforeAll(async () => {
  cp = await startTestControlPlane({ clock, args: ['--resync-interval', '0', '--revision-history', '2', '--revision-retention', '1h'] });
});
afterAll(() => cp.dispose());

const generations = async (name: string) => {
  const res = await cp.api(`${SERVERS}/name/${name}/revisions`);
  return res.status === 200 ? (res.json.data as { generation: number }[]).map((r) => r.generation) : res.status;
};

it('keeps the newest generations, and a deleted server for the retention only', async () => {
  for (const description of ['one', 'two', 'three']) await putServer(cp, remoteManifest({ name: 'kept', description }));
  expect(await generations('kept')).toEqual([3, 2]);
  expect((await cp.api(`${SERVERS}/name/kept/revisions/1`)).status).toBe(404);
  const tooOld = await cp.api(`${SERVERS}/name/kept/rollback`, { method: 'POST', body: { toGeneration: 1 } });
  expect(tooOld.status).toBe(404);
  expect(tooOld.json.error.message).toContain('has no revision 1');

  expect((await cp.api(`${SERVERS}/name/kept`, { method: 'DELETE' })).status).toBe(200);
  clock.advance(HOUR - 1000);
  expect(await generations('kept')).toEqual([3, 2]);
  clock.advance(2000);
  expect(await generations('kept')).toBe(404);
  expect((await cp.api(`${SERVERS}/name/kept/rollback`, { method: 'POST', body: { toGeneration: 3 } })).status).toBe(404);
});

it('defaults to 20 generations and 7 days, and refuses a --revision-history that keeps nothing', () => {
  expect(() => parseServeConfig(['--revision-history', '0'], {})).toThrow('--revision-history: "0" must be a whole number from 1 to 1000.');
  expect(parseServeConfig(['--revision-retention', '2d'], {}).revisionRetentionMs).toBe(48 * HOUR);
  expect(parseServeConfig([], {})).toMatchObject({ revisionHistory: 20, revisionRetentionMs: 7 * 24 * HOUR });
});
