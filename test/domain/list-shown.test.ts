import { listShown } from '../../src/domain/list-shown.js';

describe('listShown', () => {
  it('lists all names up to the limit', () => {
    expect(listShown([], 3)).toBe('');
    expect(listShown(['a'], 3)).toBe('a');
    expect(listShown(['a', 'b', 'c'], 3)).toBe('a, b, c');
  });

  it('names the first ones and counts the rest', () => {
    expect(listShown(['a', 'b', 'c', 'd'], 3)).toBe('a, b, c, and 1 more');
    const many = Array.from({ length: 10_000 }, (_, i) => `s${i}`);
    expect(listShown(many, 10)).toBe('s0, s1, s2, s3, s4, s5, s6, s7, s8, s9, and 9990 more');
  });
});
