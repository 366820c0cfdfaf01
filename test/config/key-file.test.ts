import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadOrCreateKeyFile, type KeyFileFormat } from '../../src/key-file.js';

class FormatError extends Error {}

/** A key of one word; `generated` counts calls of generate(). */
function words(): KeyFileFormat<string> & { generated: number } {
  return {
    generated: 0,
    decode(text, path) {
      const word = text.trim();
      if (!/^\w+$/.test(word)) throw new FormatError(`${path} does not hold a word`);
      return word;
    },
    generate() {
      this.generated++;
      return { key: `fresh${this.generated}`, text: `fresh${this.generated}\n` };
    },
    notAFile: (path) => new FormatError(`${path} is not a file`),
  };
}

describe('loadOrCreateKeyFile', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'mcp-cp-keyfile-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('generates a missing key into a 0600 file, then reads that one', () => {
    const format = words();
    const path = join(dir, 'k');
    expect(loadOrCreateKeyFile(path, format)).toEqual({ key: 'fresh1', source: path, generated: true });
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(readFileSync(path, 'utf8')).toBe('fresh1\n');
    expect(loadOrCreateKeyFile(path, format)).toEqual({ key: 'fresh1', source: path, generated: false });
    expect(format.generated).toBe(1);
  });

  it('reads an existing key and never overwrites a bad one', () => {
    const format = words();
    const path = join(dir, 'k');
    writeFileSync(path, 'not a word');
    expect(() => loadOrCreateKeyFile(path, format)).toThrow(new FormatError(`${path} does not hold a word`));
    expect(readFileSync(path, 'utf8')).toBe('not a word');
    expect(format.generated).toBe(0);
  });

  it('refuses a path that is not a file, with the format error', () => {
    const path = join(dir, 'k');
    mkdirSync(path);
    expect(() => loadOrCreateKeyFile(path, words())).toThrow(new FormatError(`${path} is not a file`));
  });
});
