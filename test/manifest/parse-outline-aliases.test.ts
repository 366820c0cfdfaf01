// The outline's size is bounded by the document, not by what its aliases expand to: a text may repeat one
// large anchored value up to MAX_ALIASES times, and its outline must not hold every repetition.
import { outlineLocator } from '../../src/manifest/manifest-documents.js';
import { MAX_ALIASES, parseDocuments } from '../../src/manifest/parse.js';

describe('ParsedDocument.outline with repeated aliases', () => {
  const items = 1_000;
  const uses = MAX_ALIASES - 1;
  const text = [
    `anchor: &big [${Array.from({ length: items }, (_, i) => i).join(', ')}]`,
    'copies:',
    ...Array.from({ length: uses }, () => '  - *big'),
    '',
  ].join('\n');

  it('enters an anchored node once, however many aliases name it', () => {
    const [doc] = parseDocuments(text, { format: 'yaml' });
    expect(doc!.errors).toEqual([]);
    const outline = doc!.outline();
    // The anchor's items, the first alias's items, one entry per alias use and the mappings' keys: about
    // 2 × items + uses. Following every alias would give (uses + 1) × items ≈ 100,000.
    expect(outline.size).toBeLessThanOrEqual(2 * items + uses + 10);
    expect(outline.size).toBeGreaterThanOrEqual(2 * items + uses);
    // Entries there agree with locate; a pointer below a later alias is placed at that alias.
    for (const [pointer, position] of outline) expect([pointer, doc!.locate(pointer)]).toEqual([pointer, position]);
    const locate = outlineLocator([...outline]);
    const lastAlias = `/copies/${uses - 1}`;
    expect(outline.has(`${lastAlias}/5`)).toBe(false);
    expect(locate(`${lastAlias}/5`)).toEqual(outline.get(lastAlias));
    expect(outline.get(lastAlias)!.line).toBe(2 + uses);
  });
});
