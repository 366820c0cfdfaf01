// The leader's first sync of a watched directory larger than a part (the sync commits it a part at a time)
// goes first: the reconciles its parts queue wait until the whole directory is committed, so they do not
// slow the sync (and readiness) down. Seen in the changelog: every server's ADDED entry comes before any
// reconcile's status write.
import { startTestControlPlane, type TestControlPlane } from '../support/control-plane.js';
import { waitForProgress } from '../support/wait-for.js';
import { serverYaml, tempDir, writeFile } from './helpers.js';

/** Three parts and a half of the sync's 100 files. */
const COUNT = 350;
const nameOf = (i: number) => `server-${String(i).padStart(4, '0')}`;

describe('the first sync of a large watched directory', () => {
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

  it('commits every part before the reconciles its parts queued run', async () => {
    for (let i = 0; i < COUNT; i++) writeFile(dir, `${nameOf(i)}.yaml`, serverYaml(nameOf(i)));
    const started = Date.now();
    cp = await startTestControlPlane({ manifests: [dir], args: ['--resync-interval', '0'] });
    const loadMs = Math.max(10_000, Date.now() - started);
    const gateway = cp.gateway;
    await waitForProgress(async () => (await gateway.keys()).length, COUNT, { stallMs: loadMs, what: `${COUNT} gateway entries` });
    const changes = await cp.store.changesSince(0, 10 * COUNT);
    const added = changes.filter((c) => c.type === 'ADDED').map((c) => c.resourceVersion);
    const statusWrites = changes.filter((c) => c.type === 'MODIFIED').map((c) => c.resourceVersion);
    expect(added).toHaveLength(COUNT);
    expect(statusWrites.length).toBeGreaterThan(0);
    expect(Math.max(...added)).toBeLessThan(Math.min(...statusWrites));
  }, 600_000);
});
