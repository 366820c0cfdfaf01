// SourceInventory: which resources each watched directory and file manages, following every write, and
// the records of the files applied cleanly.
import type { StoreEngine } from './engine.js';
import { fileSource, fqnOf, newResource, updateOf } from './fixtures.js';

export function sourceInventoryCases(engine: () => StoreEngine): void {
  describe('source inventory', () => {
    it('answers the resources of a directory by name and of a file, following creates, moves and removes', async () => {
      const { resources } = engine();
      await resources.create(newResource('a', { source: fileSource('one.yaml') }));
      await resources.create(newResource('b', { source: fileSource('one.yaml', '/manifests', 1) }));
      await resources.create(newResource('c', { source: fileSource('c.yaml', '/other') }));
      await resources.create(newResource('d'));
      const names = async (root: string) => [...(await resources.fileRefs('default', root)).keys()].sort();
      expect(await names('/manifests')).toEqual(['a', 'b']);
      expect(await names('/other')).toEqual(['c']);
      expect((await resources.fileRefsAt('default', '/manifests', 'one.yaml')).map((r) => r.name).sort()).toEqual(['a', 'b']);
      // Moved to another file, then taken over by the API, then removed.
      await resources.update(fqnOf('a'), updateOf('a', 2, { source: fileSource('two.yaml') }));
      expect((await resources.fileRefsAt('default', '/manifests', 'two.yaml')).map((r) => [r.name, r.generation])).toEqual([['a', 2]]);
      expect((await resources.fileRefsAt('default', '/manifests', 'one.yaml')).map((r) => r.name)).toEqual(['b']);
      await resources.update(fqnOf('b'), updateOf('b', 2, { source: { kind: 'api' } }));
      await resources.remove(fqnOf('c'));
      expect(await names('/manifests')).toEqual(['a']);
      expect(await names('/other')).toEqual([]);
      expect(await resources.fileRefsAt('default', '/manifests', 'one.yaml')).toEqual([]);
      expect(await names('/nowhere')).toEqual([]);
    });

    it('records the files of a directory, replaces a record, and forgets one recorded as null', async () => {
      const { resources } = engine();
      const record = (hash: string, names: string[]) => ({ contentHash: hash, names, fingerprint: 'fp-1' });
      await resources.recordSourceFiles('/manifests', new Map([['one.yaml', record('h1', ['a', 'b'])], ['two.yaml', record('h2', ['c'])]]));
      await resources.recordSourceFiles('/other', new Map([['one.yaml', record('h9', ['z'])]]));
      const files = async (root: string) => (await resources.sourceFiles(root)).sort((x, y) => x.path.localeCompare(y.path));
      expect(await files('/manifests')).toEqual([
        { path: 'one.yaml', contentHash: 'h1', names: ['a', 'b'], fingerprint: 'fp-1' },
        { path: 'two.yaml', contentHash: 'h2', names: ['c'], fingerprint: 'fp-1' },
      ]);
      await resources.recordSourceFiles('/manifests', new Map([['one.yaml', record('h3', ['a'])], ['two.yaml', null]]));
      expect(await files('/manifests')).toEqual([{ path: 'one.yaml', contentHash: 'h3', names: ['a'], fingerprint: 'fp-1' }]);
      expect(await files('/other')).toEqual([{ path: 'one.yaml', contentHash: 'h9', names: ['z'], fingerprint: 'fp-1' }]);
    });
  });
}
