// A manifest file is read into a buffer of its size (from its stat), not one of the 1 MiB cap: 32 files
// read at once during a sync held 32 MiB of buffers for 3 KB each. A file larger than its stat said is
// still read whole up to the cap, and one past the cap to the cap + 1.
import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readAtMost, readAtMostSync } from '../../src/read-at-most.js';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'mcp-read-sized-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const LIMIT = 1024 * 1024 + 1;
const text = (n: number) => Buffer.from('x'.repeat(n));

async function both(name: string, expected: number | undefined): Promise<Buffer[]> {
  const path = join(dir, name);
  const fd = openSync(path, 'r');
  let sync: Buffer;
  try {
    sync = readAtMostSync(fd, LIMIT, expected);
  } finally {
    closeSync(fd);
  }
  const handle = await open(path, 'r');
  try {
    return [sync, await readAtMost(handle, LIMIT, expected)];
  } finally {
    await handle.close();
  }
}

it('reads a small file into a buffer of its size', async () => {
  writeFileSync(join(dir, 'small'), text(3000));
  for (const bytes of await both('small', 3000)) {
    expect(bytes.equals(text(3000))).toBe(true);
    expect(bytes.buffer.byteLength).toBeLessThanOrEqual(3001);
  }
});

it('reads a file that grew after its stat whole, and one past the cap to the cap + 1', async () => {
  writeFileSync(join(dir, 'grew'), text(200_000));
  for (const bytes of await both('grew', 10)) expect(bytes.equals(text(200_000))).toBe(true);
  writeFileSync(join(dir, 'large'), text(3 * 1024 * 1024));
  for (const bytes of await both('large', 100)) expect(bytes.length).toBe(LIMIT);
  for (const bytes of await both('large', undefined)) expect(bytes.length).toBe(LIMIT);
  writeFileSync(join(dir, 'empty'), '');
  for (const bytes of await both('empty', 0)) expect(bytes.length).toBe(0);
});
