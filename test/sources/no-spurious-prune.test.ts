// GitOps deletes only what the user removed, end to end: the real server on port 0, real files and the
// real watcher, the system clock. Each test writes an intermediate state (an empty file, half a file, a
// directory half swapped), waits until the source has read it (a positive signal: its status), then
// completes the change, and compares ids and the changelog before and after. Nothing sleeps.
import { appendFileSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startTestControlPlane, waitFor, type TestControlPlane } from '../support/control-plane.js';
import { condition, gatewayNames, multiDoc, serverYaml, sourceOf, storedNames, tempDir, writeFile, type SourceView } from './helpers.js';

/** Longer than any test here takes to make its change: nothing may be pruned while it runs. */
const LONG_QUIET = ['--prune-quiet-period', '30s'];

describe('GitOps never deletes what the user did not remove', () => {
  const dirs: { dir: string; cleanup(): void }[] = [];
  let cp: TestControlPlane | undefined;

  const newDir = () => {
    const d = tempDir();
    dirs.push(d);
    return d.dir;
  };
  afterEach(async () => {
    await cp?.dispose();
    cp = undefined;
    for (const d of dirs.splice(0)) d.cleanup();
  });

  const start = async (roots: string[], args: string[]) => {
    cp = await startTestControlPlane({ manifests: roots, args: ['--resync-interval', '0', ...args] });
    return cp;
  };
  const servers = (prefix: string, n: number, description?: string) =>
    Array.from({ length: n }, (_, i) => serverYaml(`${prefix}${i}`, description ?? `Server ${prefix}${i}`));
  const ids = async (cp: TestControlPlane): Promise<Record<string, string>> =>
    Object.fromEntries(
      (await cp.store.list({ tenant: 'default', limit: 100_000, offset: 0 })).items.map((r) => [r.name, r.id]),
    );
  const deleted = async (cp: TestControlPlane) =>
    (await cp.store
      .changesSince(0, 1_000_000))
      .filter((c) => c.type === 'DELETED')
      .map((c) => c.object.name);
  const sourceIndex = (cp: TestControlPlane, root: string) => cp.sources.sources.findIndex((s) => s.root === root);
  const batches = (cp: TestControlPlane, root: string) => cp.sources.sources[sourceIndex(cp, root)]!.batchCount;
  /** Every file applied, nothing held: the source has converged on the files as they are. */
  const synced = async (cp: TestControlPlane, root: string): Promise<SourceView | undefined> => {
    const s = await sourceOf(cp, root);
    return condition(s, 'Ready')?.reason === 'Synced' && s.files.every((f) => f.errors.length === 0) ? s : undefined;
  };
  const holding = async (cp: TestControlPlane, root: string, path: string) =>
    (await sourceOf(cp, root)).files.find((f) => f.path === path)?.errors.some((e) => /are kept until/.test(e.message));
  /** Waits until a batch has run after this call (the watcher has reported what was written before it). */
  const nextBatch = async (cp: TestControlPlane, root: string, what: string) => {
    const seen = batches(cp, root);
    await waitFor(() => batches(cp, root) > seen, { what });
  };

  it('truncate, then the new content a moment later: the same ids, no DELETED', async () => {
    const dir = newDir();
    writeFile(dir, 'keep.yaml', serverYaml('other'));
    writeFile(dir, 'f.yaml', multiDoc(...servers('s', 10)));
    const cp = await start([dir], LONG_QUIET);
    const before = await ids(cp);

    writeFileSync(join(dir, 'f.yaml'), '');
    await waitFor(() => holding(cp, dir, 'f.yaml'), { what: 'the empty file read and held' });
    expect((await ids(cp))).toEqual(before);
    writeFile(dir, 'f.yaml', multiDoc(...servers('s', 10, 'rewritten')));
    await waitFor(() => synced(cp, dir), { what: 'the rewritten file applied' });

    expect((await ids(cp))).toEqual(before);
    expect((await cp.store.get('default:mcp-server:s9'))).toMatchObject({ generation: 2, manifest: { description: 'rewritten' } });
    expect((await deleted(cp))).toEqual([]);
  });

  it('a file written in two parts: the same ids, no DELETED, nothing half-written applied', async () => {
    const dir = newDir();
    writeFile(dir, 'keep.yaml', serverYaml('other'));
    writeFile(dir, 'f.yaml', multiDoc(...servers('s', 10)));
    const cp = await start([dir], LONG_QUIET);
    const before = await ids(cp);

    const next = servers('s', 10, 'second');
    writeFile(dir, 'f.yaml', multiDoc(...next.slice(0, 4)));
    await waitFor(() => holding(cp, dir, 'f.yaml'), { what: 'the first part read and held' });
    expect((await cp.store.get('default:mcp-server:s0'))?.generation).toBe(1);
    appendFileSync(join(dir, 'f.yaml'), `---\n${multiDoc(...next.slice(4))}`);
    await waitFor(() => synced(cp, dir), { what: 'the whole file applied' });

    expect((await ids(cp))).toEqual(before);
    expect((await cp.store.get('default:mcp-server:s9'))).toMatchObject({ generation: 2, manifest: { description: 'second' } });
    expect((await deleted(cp))).toEqual([]);
  });

  it('a subdirectory swapped file by file: the same ids, no DELETED, the gateway keeps every entry', async () => {
    const dir = newDir();
    writeFile(dir, 'keep.yaml', serverYaml('other'));
    for (let i = 0; i < 8; i++) writeFile(dir, `team/f${i}.yaml`, multiDoc(...servers(`t${i}-`, 5)));
    const cp = await start([dir], LONG_QUIET);
    await waitFor(async () => (await gatewayNames(cp)).length === 41, { what: '41 gateway entries' });
    const before = await ids(cp);

    rmSync(join(dir, 'team'), { recursive: true });
    await waitFor(() => holding(cp, dir, 'team/f7.yaml'), { what: 'the removed directory read and held' });
    mkdirSync(join(dir, 'team'));
    for (let i = 0; i < 8; i++) {
      writeFile(dir, `team/f${i}.yaml`, multiDoc(...servers(`t${i}-`, 5, 'swapped')));
      await nextBatch(cp, dir, `a batch after team/f${i}.yaml`);
    }
    await waitFor(() => synced(cp, dir), { what: 'the swapped directory applied' });

    expect((await ids(cp))).toEqual(before);
    expect((await deleted(cp))).toEqual([]);
    expect((await cp.store.get('default:mcp-server:t7-4'))).toMatchObject({ generation: 2, manifest: { description: 'swapped' } });
    expect(await gatewayNames(cp)).toHaveLength(41);
  });

  it('the watched root swapped: the same ids, no DELETED', async () => {
    const dir = newDir();
    for (let i = 0; i < 6; i++) writeFile(dir, `f${i}.yaml`, multiDoc(...servers(`r${i}-`, 5)));
    const cp = await start([dir], LONG_QUIET);
    const before = await ids(cp);

    rmSync(dir, { recursive: true });
    await waitFor(async () => condition(await sourceOf(cp, dir), 'Ready')?.reason === 'PrunePending', { what: 'the missing root read and held' });
    mkdirSync(dir);
    for (let i = 0; i < 6; i++) {
      writeFile(dir, `f${i}.yaml`, multiDoc(...servers(`r${i}-`, 5, 'swapped')));
      await nextBatch(cp, dir, `a batch after f${i}.yaml`);
    }
    await waitFor(() => synced(cp, dir), { what: 'the swapped root applied' });

    expect((await ids(cp))).toEqual(before);
    expect((await deleted(cp))).toEqual([]);
    expect((await storedNames(cp))).toHaveLength(30);
  });

  it('a file moved between two watched roots keeps its servers and their ids, whichever root sees it first', async () => {
    const a = newDir();
    const b = newDir();
    writeFile(a, 'keep.yaml', serverYaml('keep-a'));
    writeFile(b, 'keep.yaml', serverYaml('keep-b'));
    writeFile(a, 'moving.yaml', multiDoc(...servers('m', 3)));
    const cp = await start([a, b], LONG_QUIET);
    const before = await ids(cp);

    let from = a;
    let to = b;
    for (let move = 0; move < 6; move++) {
      renameSync(join(from, 'moving.yaml'), join(to, 'moving.yaml'));
      await waitFor(async () => ((await storedNames(cp, to)).includes('m2') ? (await synced(cp, to)) : undefined), { what: `move ${move} into ${to}` });
      await waitFor(() => synced(cp, from), { what: `move ${move}: ${from} settled` });
      expect((await storedNames(cp, to))).toEqual([`keep-${to === a ? 'a' : 'b'}`, 'm0', 'm1', 'm2']);
      [from, to] = [to, from];
    }
    expect((await ids(cp))).toEqual(before);
    expect((await deleted(cp))).toEqual([]);
  });

  it('a genuine removal is pruned once the quiet period has passed, and a server declared again is new', async () => {
    const dir = newDir();
    writeFile(dir, 'keep.yaml', serverYaml('other'));
    writeFile(dir, 'f.yaml', multiDoc(serverYaml('stay'), serverYaml('gone')));
    const cp = await start([dir], ['--prune-quiet-period', '1s']);
    const goneId = (await ids(cp)).gone;
    await waitFor(async () => (await gatewayNames(cp)).includes('gone'), { what: 'gone in the gateway' });

    writeFile(dir, 'f.yaml', serverYaml('stay'));
    await waitFor(() => holding(cp, dir, 'f.yaml'), { what: 'the removal read and held' });
    expect((await storedNames(cp))).toEqual(['gone', 'other', 'stay']);
    await waitFor(() => synced(cp, dir), { what: 'the removal confirmed after the quiet period' });
    expect((await storedNames(cp))).toEqual(['other', 'stay']);
    expect((await deleted(cp))).toEqual(['gone']);
    await waitFor(async () => !(await gatewayNames(cp)).includes('gone'), { what: 'gone out of the gateway' });

    writeFile(dir, 'f.yaml', multiDoc(serverYaml('stay'), serverYaml('gone', 'back')));
    await waitFor(async () => (await storedNames(cp)).includes('gone'), { what: 'gone declared again' });
    const again = (await cp.store.get('default:mcp-server:gone'))!;
    expect(again.id).not.toBe(goneId);
    expect(again).toMatchObject({ generation: 1, manifest: { description: 'back' } });
  });
});
