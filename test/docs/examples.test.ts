// The examples and the default manifests directory are part of the docs: they must stay valid.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseDocuments, validateApplyRequest, validateManifest } from '../../src/manifest/index.js';

const root = join(import.meta.dirname, '..', '..');
const manifestFiles = ['manifests', 'examples/manifests'].flatMap((dir) =>
  readdirSync(join(root, dir))
    .filter((f) => /\.(ya?ml|json)$/.test(f))
    .map((f) => join(dir, f)),
);

describe('examples', () => {
  it('has manifests to check', () => {
    expect(manifestFiles.length).toBeGreaterThanOrEqual(3);
  });

  it.each(manifestFiles)('%s parses and validates', (file) => {
    const docs = parseDocuments(readFileSync(join(root, file), 'utf8'));
    expect(docs.length).toBeGreaterThan(0);
    for (const doc of docs) {
      expect(doc.errors).toEqual([]);
      const result = validateManifest(doc.value);
      expect(result.ok ? [] : result.errors).toEqual([]);
    }
  });

  it('examples/api/github-tools.json is a valid PUT body', () => {
    const body = JSON.parse(readFileSync(join(root, 'examples/api/github-tools.json'), 'utf8'));
    const request = validateApplyRequest(body);
    expect(request.ok ? [] : request.errors).toEqual([]);
    const manifest = validateManifest(body.manifest);
    expect(manifest.ok ? [] : manifest.errors).toEqual([]);
  });
});
