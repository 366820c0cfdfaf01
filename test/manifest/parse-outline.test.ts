// ParsedDocument.outline() is locate() for every pointer at once: what a parse worker hands back so
// that errors found later can still be positioned without the parse tree.
import { readFileSync } from 'node:fs';
import { parseDocuments } from '../../src/manifest/parse.js';

const fixture = readFileSync(new URL('../fixtures/manifests/remote-full.yaml', import.meta.url), 'utf8');

describe('ParsedDocument.outline', () => {
  it.each([
    ['YAML', fixture, 'yaml' as const],
    ['YAML with an alias', 'owners: &o [{subject: "user:a", role_id: r}]\ncollaborators: *o\n', 'yaml' as const],
    ['JSON', JSON.stringify({ name: 'a', tags: { x: '1' }, tool_settings: [{ name: 't', disabled: true }] }, null, 2), 'json' as const],
  ])('agrees with locate for every pointer (%s)', (_label, text, format) => {
    const [doc] = parseDocuments(text, { format });
    const outline = doc!.outline();
    expect(outline.size).toBeGreaterThan(3);
    for (const [pointer, position] of outline) expect([pointer, doc!.locate(pointer)]).toEqual([pointer, position]);
    // Every member of the value is there.
    const walk = (value: unknown, pointer: string): void => {
      expect(outline.has(pointer)).toBe(true);
      if (typeof value === 'object' && value !== null) {
        for (const [key, child] of Object.entries(value)) walk(child, `${pointer}/${key.replace(/~/g, '~0').replace(/\//g, '~1')}`);
      }
    };
    walk(doc!.value, '');
  });
});
