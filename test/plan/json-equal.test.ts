// jsonEqual answers what comparing stableStringify texts answers, on the cases where JSON is subtle.
import { jsonEqual } from '../../src/plan/index.js';
import { stableStringify } from '../../src/manifest/index.js';

const cases: [unknown, unknown][] = [
  [{ a: 1, b: [1, 2] }, { b: [1, 2], a: 1 }],
  [{ a: 1 }, { a: 1, b: undefined }],
  [{ a: 1, f: () => 1 }, { a: 1 }],
  [{ a: null }, {}],
  [{ a: undefined }, { a: null }],
  [{}, { constructor: 1 }],
  [{ constructor: 1 }, {}],
  [[1, undefined], [1, null]],
  [[1, 2], [2, 1]],
  [[1], [1, 1]],
  [[], {}],
  [{}, []],
  [0, -0],
  [NaN, null],
  [undefined, null],
  ['1', 1],
  [true, 'true'],
  [{ a: { b: { c: 'x' } } }, { a: { b: { c: 'y' } } }],
  [{ a: { b: { c: 'x' } } }, { a: { b: { c: 'x' } } }],
  [{ a: [{ x: 1, y: 2 }] }, { a: [{ y: 2, x: 1 }] }],
  [{ a: 1 }, { a: '1' }],
  [{ a: {} }, { a: [] }],
  [null, {}],
  [{ a: 1, b: 2 }, { a: 1, c: 2 }],
];

describe('jsonEqual', () => {
  it.each(cases)('%p vs %p: as stableStringify compares', (a, b) => {
    const expected = stableStringify(a) === stableStringify(b);
    expect(jsonEqual(a, b)).toBe(expected);
    expect(jsonEqual(b, a)).toBe(expected);
  });
});
