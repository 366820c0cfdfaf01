// Comments in src/ state contracts; where a change came from belongs in its commit message, so no
// comment cites an issue number.
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';

const SRC = join(import.meta.dirname, '..', '..', 'src');
const ISSUE_REFERENCE = /\bissues? #?\d+\b|\(#\d+\)/i;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sourceFiles(join(dir, e.name)) : /\.(ts|js)$/.test(e.name) ? [join(dir, e.name)] : [],
  );
}

describe('comments in src/', () => {
  it('recognise an issue reference', () => {
    expect(['// (issue 8)', '/** the stdio kind (issue #12) */', '// see #18'].filter((c) => ISSUE_REFERENCE.test(c))).toHaveLength(2);
    expect(ISSUE_REFERENCE.test('// PKCS#8 or SEC1')).toBe(false);
  });

  it('cite no issue numbers', () => {
    const cited = sourceFiles(SRC).flatMap((file) =>
      readFileSync(file, 'utf8')
        .split('\n')
        .map((line, i) => ({ line, at: `${relative(SRC, file)}:${i + 1}` }))
        .filter(({ line }) => /^\s*(\/\/|\*|\/\*)/.test(line) && ISSUE_REFERENCE.test(line))
        .map(({ at }) => at),
    );
    expect(cited).toEqual([]);
  });
});
