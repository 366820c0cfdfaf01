// The first read of a server after its write answers the manifest the write was handed, nothing decoded
// nor decrypted (the reconcile the write enqueued); only while the row still has that spec hash: a write
// rolled back, one through another connection, a removal, or a second read all read the row.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resourceViews } from '../../src/http/resource-view.js';
import { AesGcmSecretCodec, type SecretCodec } from '../../src/store/secret-codec.js';
import { SqliteResourceStore } from '../../src/store/sqlite/index.js';
import { WrittenManifests } from '../../src/store/written-manifests.js';
import { FakeClock } from '../support/fake-clock.js';
import { fqnOf, manifest, newResource, SECRET, updateOf } from './conformance/fixtures.js';

let dir: string;
let opened: number;
const key = randomBytes(32);
/** The AES-GCM codec, counting the values it opens. */
function countingCodec(): SecretCodec {
  const codec = new AesGcmSecretCodec(key);
  return { seal: (s) => codec.seal(s), open: (s) => (opened++, codec.open(s)), isSealed: (s) => codec.isSealed(s) };
}
const open = () =>
  new SqliteResourceStore({ path: join(dir, 'control-plane.db'), views: resourceViews, clock: new FakeClock(Date.parse('2026-01-01T00:00:00Z')), secretCodec: countingCodec() });

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'written-manifests-'));
  opened = 0;
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('the first read after a write', () => {
  it('answers the written manifest, decrypting nothing; the next read decodes the row', async () => {
    const store = open();
    try {
      const input = newResource('a');
      await store.create(input);
      const first = await store.get(fqnOf('a'));
      expect(first!.manifest).toBe(input.manifest);
      expect(opened).toBe(0);
      const second = await store.get(fqnOf('a'));
      expect(second!.manifest).not.toBe(input.manifest);
      expect(second!.manifest).toEqual(input.manifest);
      expect(opened).toBe(1);
      // An update is handed so too.
      const update = updateOf('a', 2);
      await store.update(fqnOf('a'), update);
      expect((await store.get(fqnOf('a')))!.manifest).toBe(update.manifest);
      expect(opened).toBe(1);
    } finally {
      await store.close();
    }
  });

  it('reads the row when the write was rolled back', async () => {
    const store = open();
    try {
      await store.create(newResource('b'));
      await store.get(fqnOf('b'));
      const changed = { ...updateOf('b', 2), manifest: manifest('b', 'rolled back', 'Bearer other-secret') };
      await expect(
        store.transaction(async () => {
          await store.update(fqnOf('b'), changed);
          throw new Error('undo');
        }),
      ).rejects.toThrow('undo');
      const read = await store.get(fqnOf('b'));
      expect(read!.manifest).not.toBe(changed.manifest);
      expect(read!.manifest).toEqual(manifest('b'));
      expect(JSON.stringify(read!.manifest)).toContain(SECRET);
      expect(read!.generation).toBe(1);
    } finally {
      await store.close();
    }
  });

  it('reads the row when another connection wrote it since, and after a removal', async () => {
    const store = open();
    const other = open();
    try {
      await store.create(newResource('c'));
      const elsewhere = { ...updateOf('c', 2), manifest: manifest('c', 'written elsewhere') };
      await other.update(fqnOf('c'), elsewhere);
      const read = await store.get(fqnOf('c'));
      expect(read!.manifest.description).toBe('written elsewhere');
      expect(read!.manifest).not.toBe(elsewhere.manifest);

      await store.create(newResource('d'));
      await store.remove(fqnOf('d'));
      expect(await store.get(fqnOf('d'))).toBeUndefined();
      await other.create(newResource('d'));
      const recreated = await store.get(fqnOf('d'));
      expect(recreated!.manifest).toEqual(manifest('d'));
      expect(opened).toBeGreaterThan(0);
    } finally {
      await other.close();
      await store.close();
    }
  });
});

describe('WrittenManifests', () => {
  it('keeps at most its capacity, the oldest dropped first, each handed once', () => {
    const kept = new WrittenManifests(2);
    kept.remember('x', 'hx', manifest('x'));
    kept.remember('y', 'hy', manifest('y'));
    kept.remember('x', 'hx2', manifest('x', 'again'));
    kept.remember('z', 'hz', manifest('z'));
    expect(kept.size).toBe(2);
    expect(kept.take('y')).toBeUndefined();
    expect(kept.take('x')!.specHash).toBe('hx2');
    expect(kept.take('x')).toBeUndefined();
    expect(kept.take('z')!.specHash).toBe('hz');
  });
});
