// The change feed reads the changelog when the store says it was written, not on its timer (which is
// only a fallback), reads the writes of one go together, and never hands out a rolled-back write.
import { silentLogger } from '../../src/domain/logger.js';
import { adminPrincipal } from '../../src/domain/principal.js';
import { ChangeFeed } from '../../src/http/watch-feed.js';
import { Intake } from '../../src/intake/index.js';
import { RoleAccessPolicy } from '../../src/auth/policy.js';
import type { Change } from '../../src/store/index.js';
import { resourceViews } from '../../src/http/resource-view.js';
import { SqliteResourceStore } from '../../src/store/sqlite/index.js';
import { remoteManifest, waitFor } from '../support/control-plane.js';

describe('watch: the change feed', () => {
  let store: SqliteResourceStore;
  let feed: ChangeFeed;
  let intake: Intake;
  const batches: Change[][] = [];
  const apply = (name: string, description: string) =>
    intake.apply({
      manifest: remoteManifest({ name, description }),
      dryRun: false,
      force: false,
      metadata: undefined,
      source: { kind: 'api' },
      principal: adminPrincipal('default'),
    });

  beforeEach(async () => {
    store = new SqliteResourceStore({ views: resourceViews, path: ':memory:' });
    intake = new Intake({ store, tenant: 'default', policy: new RoleAccessPolicy(), enqueue: () => {} });
    // A timer that never fires within a test: whatever arrives was woken by the write.
    feed = new ChangeFeed({ store, logger: silentLogger, pollIntervalMs: 3_600_000 });
    batches.length = 0;
    feed.listen((changes) => void batches.push([...changes]));
    await feed.start();
  });
  afterEach(async () => {
    feed.stop();
    await store.close();
  });

  it('hands out a write as soon as the writer yields, and the writes of one unit as one batch', async () => {
    const written = apply('one', 'first');
    expect(batches).toEqual([]); // not from inside the write
    await written;
    await waitFor(() => batches.length === 1, { what: 'the write to be handed out' });
    expect(batches[0]!.map((c) => [c.type, c.fqn])).toEqual([['ADDED', 'default:mcp-server:one']]);

    await store.transaction(async () => {
      await apply('two', 'second');
      await apply('one', 'third');
    });
    await waitFor(() => batches.length === 2, { what: 'the next writes to be handed out' });
    expect(batches[1]!.map((c) => c.resourceVersion)).toEqual([2, 3]);
    expect(feed.position).toBe(3);
  });

  it('hands out nothing of a transaction that rolled back, and goes on with what commits after it', async () => {
    await expect(
      store.transaction(async () => {
        await apply('doomed', 'never committed');
        throw new Error('roll back');
      }),
    ).rejects.toThrow('roll back');
    await apply('kept', 'committed');
    await waitFor(() => batches.length === 1, { what: 'the committed write' });
    expect(batches.flat().map((c) => c.fqn)).toEqual(['default:mcp-server:kept']);
  });

  it('stops listening to the store when stopped', async () => {
    feed.stop();
    await apply('late', 'after stop');
    await new Promise((resolve) => setImmediate(resolve));
    expect(batches).toEqual([]);
  });
});
