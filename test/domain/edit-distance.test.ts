import { editDistance } from '../../src/domain/edit-distance.js';
import { closestToolNames } from '../../src/discovery/tool-settings.js';
import { closest } from '../../src/cli/suggest.js';

describe('editDistance', () => {
  it('counts insertions, deletions and substitutions', () => {
    expect(editDistance('', '')).toBe(0);
    expect(editDistance('abc', '')).toBe(3);
    expect(editDistance('', 'abc')).toBe(3);
    expect(editDistance('kitten', 'sitting')).toBe(3);
    expect(editDistance('flaw', 'lawn')).toBe(2);
  });

  it('counts a swap of neighbouring characters as one edit', () => {
    expect(editDistance('ab', 'ba')).toBe(1);
    expect(editDistance('serach', 'search')).toBe(1);
    expect(editDistance('abcd', 'badc')).toBe(2);
  });

  it('is symmetric', () => {
    for (const [a, b] of [['get_wether', 'get_weather'], ['ca', 'abc'], ['mcp', 'pcm']] as const) {
      expect(editDistance(a, b)).toBe(editDistance(b, a));
    }
  });

  it('is the one distance behind both the CLI suggestion and the tool-name suggestion', () => {
    // A swapped pair is one edit for both: "sreach" is within reach of "search" in each.
    expect(closest('sreach', ['search', 'delete'])).toBe('search');
    expect(closestToolNames('sraech', ['search', 'other'])).toEqual(['search']);
    expect(closestToolNames('gte_weahter', ['get_weather'])).toEqual(['get_weather']);
  });
});
