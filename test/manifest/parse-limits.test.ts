// The limits that keep parsing one YAML text linear and small: keys, anchors and aliases per document
// are counted by a pass of the lexer before anything is composed, so the files that used to take
// minutes (60,000 keys: the duplicate-key check compared every pair; 50,000 anchor/alias pairs: each
// alias scanned every anchor) are refused, with the limit and the line where it was passed.
import { MAX_REPORTED_ERRORS as MAX_ERRORS } from '../../src/manifest/error-cap.js';
import { MAX_ALIASES, MAX_ANCHORS, MAX_KEYS, parseDocuments } from '../../src/manifest/parse.js';

const lines = (count: number, line: (i: number) => string): string => Array.from({ length: count }, (_, i) => line(i)).join('');

describe('parse limits', () => {
  it('refuses 60,000 top-level keys at the first key over the limit', () => {
    const text = lines(60_000, (i) => `k${i}: v${i}\n`);
    expect(text.length).toBeLessThan(1024 * 1024);
    const docs = parseDocuments(text);
    expect(docs).toEqual([
      {
        index: 0,
        value: undefined,
        errors: [{ path: '', line: MAX_KEYS + 1, col: expect.any(Number), message: expect.stringContaining(`at most ${MAX_KEYS} mapping keys`) }],
        locate: expect.any(Function),
        outline: expect.any(Function),
      },
    ]);
  });

  it('counts the entries of flow mappings, not the items of flow sequences', () => {
    const flowMap = `{${lines(MAX_KEYS + 1, (i) => `k${i}: v, `)}}\n`;
    expect(parseDocuments(flowMap)[0]!.errors).toEqual([{ path: '', line: 1, col: expect.any(Number), message: expect.stringContaining('too many keys') }]);
    const implicit = `{${lines(MAX_KEYS + 1, (i) => `k${i}, `)}}\n`;
    expect(parseDocuments(implicit)[0]!.errors[0]?.message).toContain('too many keys');
    const flowSeq = `list: [${lines(3 * MAX_KEYS, (i) => `${i}, `)}]\n`;
    const [doc] = parseDocuments(flowSeq);
    expect(doc!.errors).toEqual([]);
    expect((doc!.value as { list: unknown[] }).list).toHaveLength(3 * MAX_KEYS);
  });

  it('counts keys per document', () => {
    const doc = (n: number) => `---\n${lines(n, (i) => `k${i}: v\n`)}`;
    const docs = parseDocuments(doc(MAX_KEYS / 2) + doc(MAX_KEYS / 2) + doc(MAX_KEYS / 2));
    expect(docs.map((d) => d.errors)).toEqual([[], [], []]);
    expect(Object.keys(docs[2]!.value as object)).toHaveLength(MAX_KEYS / 2);
  });

  it('refuses 50,000 anchors, each with its alias, at the first anchor over the limit', () => {
    const text = lines(50_000, (i) => `- &a${i} value-${i}\n- *a${i}\n`);
    const [doc] = parseDocuments(text);
    expect(doc!.errors).toEqual([
      { path: '', line: 2 * MAX_ANCHORS + 1, col: 3, message: expect.stringContaining(`at most ${MAX_ANCHORS}`) },
    ]);
    expect(doc!.errors[0]!.message).toContain('too many anchors');
  });

  it('refuses more aliases than the limit, even of one small anchor', () => {
    const text = `- &a x\n${lines(MAX_ALIASES + 1, () => '- *a\n')}`;
    const [doc] = parseDocuments(text);
    expect(doc!.errors).toEqual([{ path: '', line: MAX_ALIASES + 2, col: 3, message: expect.stringContaining(`at most ${MAX_ALIASES}`) }]);
  });

  it('allows anchors and aliases up to the limits', () => {
    const text = lines(MAX_ANCHORS, (i) => `- &a${i} v${i}\n`) + lines(MAX_ALIASES, (i) => `- *a${i}\n`);
    const [doc] = parseDocuments(text);
    expect(doc!.errors).toEqual([]);
    expect(doc!.value).toHaveLength(MAX_ANCHORS + MAX_ALIASES);
  });

  it('reports duplicate keys with their lines, at most MAX_ERRORS of them and how many more', () => {
    const text = lines(5000, () => 'key: value\n');
    const [doc] = parseDocuments(text);
    expect(doc!.errors).toHaveLength(MAX_ERRORS + 1);
    expect(doc!.errors[0]).toEqual({ path: '/key', line: 2, col: 1, message: 'duplicate key: each key may appear once in a mapping' });
    expect(doc!.errors[MAX_ERRORS - 1]).toMatchObject({ line: MAX_ERRORS + 1 });
    // Placed where the last listed one is, so that it sorts after it wherever errors are sorted by line.
    expect(doc!.errors[MAX_ERRORS]).toEqual({ path: '', line: MAX_ERRORS + 1, col: 1, omitted: 4999 - MAX_ERRORS, message: `${(4999 - MAX_ERRORS).toLocaleString('en-US')} more errors not shown: only the first ${MAX_ERRORS} are reported; fix these and send again` });
  });

  it('treats keys that JavaScript would merge as duplicates', () => {
    const [doc] = parseDocuments('1: a\n"1": b\n');
    expect(doc!.errors).toEqual([{ path: '/1', line: 2, col: 1, message: expect.stringContaining('duplicate key') }]);
  });

  it('caps syntax errors the same way', () => {
    const [doc] = parseDocuments(lines(3000, (i) => `k${i}: "unterminated\n  x: ]\n`));
    expect(doc!.errors.length).toBeLessThanOrEqual(MAX_ERRORS + 1);
    expect(doc!.errors.length).toBeGreaterThan(0);
  });
});

describe('parse limits: JSON', () => {
  it('reports at most MAX_ERRORS duplicate keys and how many more', () => {
    const text = `{${Array.from({ length: 3000 }, () => '"key": 1').join(',\n')}}`;
    const [doc] = parseDocuments(text, { format: 'json' });
    expect(doc!.errors).toHaveLength(MAX_ERRORS + 1);
    expect(doc!.errors[0]).toMatchObject({ path: '/key', line: 2, message: expect.stringContaining('duplicate key') });
    expect(doc!.errors[MAX_ERRORS]).toEqual({ path: '', line: MAX_ERRORS + 1, col: 1, omitted: 2999 - MAX_ERRORS, message: `${(2999 - MAX_ERRORS).toLocaleString('en-US')} more errors not shown: only the first ${MAX_ERRORS} are reported; fix these and send again` });
  });
});
