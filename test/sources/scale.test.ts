// 1,000 files: the first sync loads them all before the server is ready, the reconciler converges the
// gateway store on all of them, and a single edit afterwards is one small batch.
import { startTestControlPlane, waitFor, type TestControlPlane } from '../support/control-plane.js';
import { waitForProgress } from '../support/wait-for.js';
import { serverOf, serverYaml, storedNames, tempDir, writeFile } from './helpers.js';

const COUNT = 1000;
/**
 * Loading, applying and reconciling 1,000 files is the subject: about 11 s on a 2-core machine at load 20
 * with this file alone (6 s of it the first sync), over 90 s in a CI run beside another jest worker at load 15.
 * The waits inside are derived from the work (see below) and fail as soon as it stops; this only bounds a
 * run that hangs where no wait watches (the first sync inside startTestControlPlane).
 */
const SCALE_TEST_TIMEOUT_MS = 600_000;
/** The least a wait below allows, however fast the first sync was. */
const MIN_WAIT_MS = 10_000;
// Retries run at their defaults: the 1,000 upstreams are unreachable, and their retries share the retry
// budget (--discovery-retry-rate, 10 a second), so retrying them costs the same however long the test runs.
const nameOf = (i: number) => `server-${String(i).padStart(4, '0')}`;

describe('a watched directory of 1,000 files', () => {
  let dir: string;
  let cleanup: () => void;
  let cp: TestControlPlane | undefined;

  beforeEach(() => {
    ({ dir, cleanup } = tempDir());
  });
  afterEach(async () => {
    await cp?.dispose();
    cp = undefined;
    cleanup();
  });

  it('loads every file and converges the gateway store', async () => {
    for (let i = 0; i < COUNT; i++) writeFile(dir, `group-${i % 10}/${nameOf(i)}.yaml`, serverYaml(nameOf(i)));
    const started = Date.now();
    cp = await startTestControlPlane({ manifests: [dir], args: ['--resync-interval', '0'] });
    // What this machine, at its load now, needs to load these 1,000 files: the waits below allow as long.
    const loadMs = Math.max(MIN_WAIT_MS, Date.now() - started);
    expect((await storedNames(cp))).toHaveLength(COUNT);
    expect((await cp.api('/readyz', { token: null })).status).toBe(200);

    const gateway = cp.gateway;
    // Converging is slow on a busy machine but never still for as long as loading all the files took.
    await waitForProgress(async () => (await gateway.keys()).length, COUNT, { stallMs: loadMs, what: `${COUNT} gateway entries` });
    const listed = await cp.api('/api/svc/v1/gateway/servers');
    expect(listed.json.data).toHaveLength(COUNT);
    const sources = await cp.api('/api/svc/v1/sources');
    expect(sources.json.data[0].files).toHaveLength(COUNT);

    // One edit among 1,000 files is picked up on its own.
    const target = nameOf(500);
    writeFile(dir, `group-0/${target}.yaml`, serverYaml(target, 'edited'));
    // One file is far less work than the first sync of all of them.
    await waitFor(async () => (await serverOf(cp!, target))?.generation === 2, { timeoutMs: loadMs, what: `${target} at generation 2` });
    expect((await serverOf(cp, nameOf(501))).generation).toBe(1);
  }, SCALE_TEST_TIMEOUT_MS);
});
