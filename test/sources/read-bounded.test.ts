// A manifest file is read at most up to its cap (+1 byte), whatever its stat said: a file
// that grows after the stat is not read whole. /proc/kallsyms stands in for one: stat says 0 bytes,
// reading yields megabytes.
import { closeSync, existsSync, mkdtempSync, openSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ParsePool } from '../../src/manifest/parse-pool.js';
import { readAtMostSync } from '../../src/read-at-most.js';
import { readManifestFile, stillHashesTo } from '../../src/sources/read-manifest-file.js';
import { MAX_MANIFEST_FILE_BYTES } from '../../src/sources/manifest-files.js';

const GROWING = '/proc/kallsyms';
const onLinux = existsSync(GROWING) && statSync(GROWING).size === 0 ? it : it.skip;

let dir: string;
let pool: ParsePool;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'mcp-read-bounded-'));
  symlinkSync(GROWING, join(dir, 'growing.yaml'));
  pool = new ParsePool({ size: 1 });
});
afterAll(async () => {
  await pool.close();
  rmSync(dir, { recursive: true, force: true });
});

it('readAtMostSync stops at the limit, and returns what there is below it', () => {
  writeFileSync(join(dir, 'ten'), '0123456789');
  const fd = openSync(join(dir, 'ten'), 'r');
  try {
    expect(readAtMostSync(fd, 4).toString()).toBe('0123');
    expect(readAtMostSync(fd, 100).toString()).toBe('456789');
  } finally {
    closeSync(fd);
  }
});

describe.each([false, true])('readManifestFile (syncRead %s)', (syncRead) => {
  onLinux('refuses a file that is larger than its stat said, after reading at most the cap + 1', async () => {
    const reading = await readManifestFile(dir, 'growing.yaml', pool, { syncRead });
    expect(reading).toMatchObject({ kind: 'read', contentHash: null, documents: [], errors: [{ message: expect.stringContaining(`larger than 1 MiB (${MAX_MANIFEST_FILE_BYTES} bytes)`) }] });
  });
});

onLinux('stillHashesTo answers false for a file past the cap', () => {
  expect(stillHashesTo(dir, 'growing.yaml', 'sha256:x')).toBe(false);
});
