// `-o yaml` never overflows the stack on a deeply nested answer (a database written before bodies were
// bounded may hold one): past 256 levels the value is written as JSON, which is YAML too.
import { parse } from 'yaml';
import { writeMachine } from '../../src/cli/output.js';

function nested(depth: number): unknown {
  let value: unknown = 'bottom';
  for (let i = 0; i < depth; i++) value = i % 2 === 0 ? [value] : { k: value };
  return value;
}

function written(value: unknown): string {
  let text = '';
  writeMachine({ write: (chunk: string) => void (text += chunk) } as never, 'yaml', value);
  return text;
}

describe('writeMachine yaml', () => {
  it('writes an ordinary value as block YAML', () => {
    const value = { name: 'a', metadata: { deep: nested(10) } };
    const text = written(value);
    expect(text).toContain('name: a\n');
    expect(parse(text)).toEqual(value);
  });

  it.each([300, 4000])('writes a value %i levels deep as JSON instead of crashing', (depth) => {
    const value = { metadata: { deep: nested(depth) } };
    const text = written(value);
    expect(text.startsWith('{')).toBe(true);
    // (toEqual itself recurses too deep for 4,000 levels.)
    expect(JSON.stringify(JSON.parse(text))).toBe(JSON.stringify(value));
  });
});
