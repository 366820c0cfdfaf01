import { parseDocuments } from '../../src/manifest/parse.js';
import { validateManifest } from '../../src/manifest/validate.js';
import { CANARY, readFixture } from './manifests.js';

function only(text: string, format?: 'yaml' | 'json') {
  const docs = parseDocuments(text, format ? { format } : {});
  expect(docs).toHaveLength(1);
  return docs[0]!;
}

describe('parseDocuments: YAML', () => {
  const fixture = readFixture('remote-full.yaml');

  it('parses the full example into one valid manifest', () => {
    const doc = only(fixture);
    expect(doc.index).toBe(0);
    expect(doc.errors).toEqual([]);
    expect(validateManifest(doc.value)).toMatchObject({ ok: true });
    expect(doc.value).toMatchObject({ name: 'search-tools', tags: { 'team/owner': 'search', env: 'prod' } });
  });

  it.each([
    ['', { line: 2, col: 1 }],
    ['/name', { line: 3, col: 1 }],
    ['/collaborators/1', { line: 9, col: 5 }],
    ['/tool_settings/1/name', { line: 26, col: 5 }],
    ['/tool_settings/0/annotations/readOnlyHint', { line: 22, col: 7 }],
    ['/auth_data/headers/Authorization', { line: 31, col: 5 }],
    ['/tags/team~1owner', { line: 38, col: 3 }],
    // Missing nodes fall back to their nearest existing parent.
    ['/tool_settings/0/annotations/nope', { line: 20, col: 5 }],
    ['/tool_settings/7/name', { line: 17, col: 1 }],
    ['/description/deeper', { line: 4, col: 1 }],
  ])('locate(%j)', (pointer, position) => {
    expect(only(fixture).locate(pointer)).toEqual(position);
  });

  it.each([
    ['nested mapping', 'type: mcp-server/remote\nname: x\ndescription: a: b\n', { path: '/description/a', line: 3, col: 14 }, 'Nested mappings are not allowed'],
    ['unterminated quote', 'name: x\ndescription: "open\n', { path: '', line: 3, col: 1 }, 'Missing closing "quote'],
    ['bad indentation', 'tags:\n  a: 1\n b: 2\n', { path: '', line: 3, col: 1 }, 'same column'],
  ])('a syntax error (%s) has line and col', (_name, text, where, fragment) => {
    const doc = only(text);
    expect(doc.value).toBeUndefined();
    expect(doc.errors).toEqual([expect.objectContaining(where)]);
    expect(doc.errors[0]?.message).toContain(fragment);
  });

  it('gives documents their position in the file, skipping empty ones', () => {
    const docs = parseDocuments('---\nname: a\n---\n# only a comment\n---\nname: [\n---\nname: c\n');
    expect(docs.map((d) => [d.index, d.value, d.errors.length])).toEqual([
      [0, { name: 'a' }, 0],
      [2, undefined, 1],
      [3, { name: 'c' }, 0],
    ]);
    expect(docs[2]!.locate('/name')).toEqual({ line: 8, col: 1 });
  });

  it.each([[''], ['# nothing\n'], ['---\n---\n'], ['~\n']])('%j has no documents', (text) => {
    expect(parseDocuments(text)).toEqual([]);
  });

  it('refuses a billion-laughs document without expanding it', () => {
    const lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
    for (let i = 1; i < 10; i++) {
      const name = String.fromCharCode(97 + i);
      const prev = String.fromCharCode(96 + i);
      lines.push(`${name}: &${name} [${Array(9).fill(`*${prev}`).join(',')}]`);
    }
    // Expanded, this document would hold 9^10 (3.4 billion) strings: an answer at all means the
    // expansion was cut off at the alias bound, which the error names.
    const doc = only(lines.join('\n'));
    expect(doc.value).toBeUndefined();
    expect(doc.errors).toEqual([expect.objectContaining({ path: '', message: expect.stringContaining('too many alias expansions') })]);
  });

  it('allows a few aliases', () => {
    const doc = only('owners: &o [{subject: "user:a", role_id: mcp-server-user}]\ncollaborators: *o\n');
    expect(doc.errors).toEqual([]);
    expect(doc.value).toEqual({
      owners: [{ subject: 'user:a', role_id: 'mcp-server-user' }],
      collaborators: [{ subject: 'user:a', role_id: 'mcp-server-user' }],
    });
  });

  it('refuses duplicate keys', () => {
    const doc = only('name: a\ndescription: x\nname: b\n');
    expect(doc.value).toBeUndefined();
    expect(doc.errors).toEqual([{ path: '/name', line: 3, col: 1, message: expect.stringContaining('duplicate key') }]);
  });

  it('does not merge `<<` keys', () => {
    expect(only('base: &b {x: 1}\nm:\n  <<: *b\n').value).toEqual({ base: { x: 1 }, m: { '<<': { x: 1 } } });
  });

  it.each([
    ['__proto__', '__proto__:\n  polluted: yes\n', '/__proto__', { line: 1, col: 1 }],
    ['nested __proto__', 'tags:\n  __proto__: {polluted: yes}\n', '/tags/__proto__', { line: 2, col: 3 }],
    ['constructor', 'a:\n  - constructor: {prototype: {polluted: yes}}\n', '/a/0/constructor', { line: 2, col: 5 }],
    ['prototype', 'prototype: {polluted: yes}\n', '/prototype', { line: 1, col: 1 }],
  ])('refuses the key %s and pollutes nothing', (_name, text, path, pos) => {
    const doc = only(text);
    expect(doc.value).toBeUndefined();
    expect(doc.errors[0]).toEqual({ path, ...pos, message: expect.stringContaining('is not allowed') });
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.prototype).not.toHaveProperty('polluted');
  });

  it.each([
    ['block sequences', '- '.repeat(5000) + 'x'],
    ['flow sequences', '['.repeat(100000) + ']'.repeat(100000)],
    ['indentation', Array.from({ length: 600 }, (_, i) => `${' '.repeat(i)}k:`).join('\n') + ' v'],
  ])('refuses deep nesting through %s without crashing', (_name, text) => {
    const doc = only(text);
    expect(doc.value).toBeUndefined();
    expect(doc.errors[0]?.message).toContain('nested');
  });

  it('refuses nesting deeper than 256 levels that the pre-check lets through', () => {
    const doc = only('['.repeat(300) + ']'.repeat(300));
    expect(doc.errors).toEqual([expect.objectContaining({ path: '/0'.repeat(257), message: 'nested deeper than 256 levels' })]);
  });

  it.each([
    ['block scalar header', `headers:\n  Authorization: | Bearer ${CANARY}\n`],
    ['bad escape', `headers:\n  Authorization: "Bearer \\q${CANARY}"\n`],
    ['tag', `headers:\n  Authorization: !<${CANARY}> x\n  Authorization: y\n`],
  ])('a syntax error message does not quote the source (%s)', (_name, text) => {
    const doc = only(text);
    expect(doc.errors.length).toBeGreaterThan(0);
    expect(JSON.stringify(doc.errors)).not.toContain(CANARY);
  });

  it('reads JSON text as YAML by default', () => {
    expect(only('{"name": "a", "tags": {"x": "1"}}').value).toEqual({ name: 'a', tags: { x: '1' } });
  });
});

describe('parseDocuments: JSON', () => {
  const text = '{\n  "name": "a",\n  "tool_settings": [\n    {"name": "x"},\n    {"name": "y", "disabled": true}\n  ]\n}\n';

  it('parses one document with positions', () => {
    const doc = only(text, 'json');
    expect(doc.errors).toEqual([]);
    expect(doc.value).toEqual({ name: 'a', tool_settings: [{ name: 'x' }, { name: 'y', disabled: true }] });
    expect(doc.locate('/tool_settings/1/disabled')).toEqual({ line: 5, col: 19 });
    expect(doc.locate('/tool_settings/1/nope')).toEqual({ line: 5, col: 5 });
    expect(doc.locate('')).toEqual({ line: 1, col: 1 });
  });

  it.each([
    ['missing value', '{\n  "name": "a",\n  "url": }', { line: 3, col: 10 }, 'expected a JSON value'],
    ['trailing comma', '{"a": [1, 2,]}', { line: 1, col: 13 }, 'expected a JSON value'],
    ['single quotes', "{'a': 1}", { line: 1, col: 2 }, 'expected a member name in double quotes'],
    ['missing comma', '{"a": 1\n "b": 2}', { line: 2, col: 2 }, "expected ',' or '}'"],
    ['trailing text', '{"a": 1} {"b": 2}', { line: 1, col: 10 }, 'unexpected text after the JSON value'],
    ['empty', '', { line: 1, col: 1 }, 'found the end of the input'],
    ['unterminated string', '{"a": "b', { line: 1, col: 7 }, 'unterminated string'],
    ['raw newline in a string', '{"a": "b\nc"}', { line: 1, col: 9 }, 'control character'],
    ['bad escape', '{"a": "\\x"}', { line: 1, col: 8 }, 'invalid escape'],
    ['bad number', '{"a": 01}', { line: 1, col: 8 }, "expected ',' or '}'"],
  ])('a syntax error (%s) has line and col', (_name, source, pos, fragment) => {
    const doc = only(source, 'json');
    expect(doc.value).toBeUndefined();
    expect(doc.errors).toEqual([expect.objectContaining({ path: '', ...pos })]);
    expect(doc.errors[0]?.message).toContain(fragment);
  });

  it('refuses duplicate and reserved keys, with their paths', () => {
    const doc = only('{"a": {"b": 1, "b": 2}, "__proto__": {"polluted": true}}', 'json');
    expect(doc.value).toBeUndefined();
    expect(doc.errors).toEqual([
      expect.objectContaining({ path: '/a/b', line: 1, col: 16, message: expect.stringContaining('duplicate key "b"') }),
      expect.objectContaining({ path: '/__proto__', line: 1, col: 25, message: expect.stringContaining('is not allowed') }),
    ]);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('decodes strings and numbers exactly as JSON.parse does', () => {
    const source = '{"s": "a\\"\\\\\\/\\b\\f\\n\\r\\t\\u00e9\\ud83d\\ude00", "n": [-0, 1.5e3, 12345678901234567890, 0.1], "t": true, "f": false, "z": null}';
    expect(only(source, 'json').value).toEqual(JSON.parse(source));
  });

  it('does not quote the input in errors', () => {
    const doc = only(`{"Authorization": "Bearer ${CANARY}" x}`, 'json');
    expect(doc.errors).toHaveLength(1);
    expect(JSON.stringify(doc.errors)).not.toContain(CANARY);
  });

  it('refuses deep nesting without crashing', () => {
    const doc = only('['.repeat(100000) + ']'.repeat(100000), 'json');
    expect(doc.errors[0]?.message).toContain('nested deeper than 256 levels');
  });
});
