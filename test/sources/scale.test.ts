// 1,000 files: the first sync loads them all before the server is ready, the reconciler converges the
// gateway store on all of them, and a single edit afterwards is one small batch.
import { startTestControlPlane, waitFor, type TestControlPlane } from '../support/control-plane.js';
import { serverOf, serverYaml, storedNames, tempDir, writeFile } from './helpers.js';

const COUNT = 1000;
/**
 * Loading, applying and reconciling 1,000 files is the subject: about 15 s on a 2-core machine at load 19
 * with this file alone, more beside another jest worker. The deadlines allow that, not more.
 */
const SCALE_TEST_TIMEOUT_MS = 90_000;
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
    cp = await startTestControlPlane({ manifests: [dir], args: ['--resync-interval', '0'] });
    expect((await storedNames(cp))).toHaveLength(COUNT);
    expect((await cp.api('/readyz', { token: null })).status).toBe(200);

    const gateway = cp.gateway;
    await waitFor(async () => (await gateway.keys()).length === COUNT, { timeoutMs: 45_000, what: `${COUNT} gateway entries` });
    const listed = await cp.api('/api/svc/v1/gateway/servers');
    expect(listed.json.data).toHaveLength(COUNT);
    const sources = await cp.api('/api/svc/v1/sources');
    expect(sources.json.data[0].files).toHaveLength(COUNT);

    // One edit among 1,000 files is picked up on its own.
    const target = nameOf(500);
    writeFile(dir, `group-0/${target}.yaml`, serverYaml(target, 'edited'));
    await waitFor(async () => (await serverOf(cp!, target))?.generation === 2, { what: `${target} at generation 2` });
    expect((await serverOf(cp, nameOf(501))).generation).toBe(1);
  }, SCALE_TEST_TIMEOUT_MS);
});
