// Which files of a watched directory are read, and the full-sync listing.
import { symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { isIgnoredName, isManifestPath, listManifestFiles } from '../../src/sources/index.js';
import { serverYaml, tempDir, writeFile } from './helpers.js';

describe('manifest files', () => {
  it.each([
    ['a.yaml', true],
    ['a.yml', true],
    ['a.json', true],
    ['A.YAML', true],
    ['nested/deep/a.yaml', true],
    ['a.txt', false],
    ['README.md', false],
    ['.hidden.yaml', false],
    ['.git/a.yaml', false],
    ['sub/.cache/a.yaml', false],
    ['a.yaml.swp', false],
    ['a.yaml.swx', false],
    ['.a.yaml.swp', false],
    ['a.yaml~', false],
    ['.#a.yaml', false],
    ['#a.yaml#', false],
    ['a.yaml.bak', false],
    ['a.yaml.tmp', false],
    ['4913', false],
  ])('%s is read: %s', (path, read) => {
    expect(isManifestPath(path)).toBe(read);
  });

  it.each(['.git', '.#x', '#x#', 'x~', '4913', 'x.swp', 'x.bak', 'x.TMP'])('ignores the name %s', (name) => {
    expect(isIgnoredName(name)).toBe(true);
  });

  it('lists manifest files recursively and sorted, skipping ignored ones, following file symlinks', async () => {
    const { dir, cleanup } = tempDir();
    try {
      for (const rel of ['b.yaml', 'a/z.json', 'a/y.yml', '.git/x.yaml', 'a/.hidden/x.yaml', 'c.yaml.swp', 'notes.txt', 'a/4913']) {
        writeFile(dir, rel, serverYaml('x'));
      }
      symlinkSync(join(dir, 'b.yaml'), join(dir, 'link.yaml'));
      expect(await listManifestFiles(dir)).toEqual(['a/y.yml', 'a/z.json', 'b.yaml', 'link.yaml']);
      expect(await listManifestFiles(join(dir, 'missing'))).toBeUndefined();
    } finally {
      cleanup();
    }
  });
});
