// Reading a file whose size was checked with stat: it may grow (or be replaced by a stream) before the
// read, so the read itself is bounded. Read at most `limit` bytes; callers pass their cap + 1, and a
// result longer than the cap means the file passed it. The buffer starts at the size the caller expects
// (its stat; a small default without one) plus one byte and doubles while the file goes on, up to the
// limit: a 3 KB file costs a 3 KB buffer, not one of the cap's size.
import { readSync } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';

/** The first buffer's size when the caller expects no size. */
const DEFAULT_FIRST_BYTES = 64 * 1024;

function firstSize(limit: number, expected: number | undefined): number {
  return Math.max(1, Math.min(limit, expected === undefined ? DEFAULT_FIRST_BYTES : expected + 1));
}

/** `buffer` full at `length` < limit: a larger one holding what was read. */
function grown(buffer: Buffer, length: number, limit: number): Buffer {
  const next = Buffer.alloc(Math.min(limit, buffer.length * 2));
  buffer.copy(next, 0, 0, length);
  return next;
}

/** At most `limit` bytes from the open file `fd`, from its current position (fewer at end of file). */
export function readAtMostSync(fd: number, limit: number, expected?: number): Buffer {
  let buffer: Buffer = Buffer.alloc(firstSize(limit, expected));
  let length = 0;
  for (let n = -1; n !== 0 && length < limit; length += n) {
    if (length === buffer.length) buffer = grown(buffer, length, limit);
    n = readSync(fd, buffer, length, buffer.length - length, null);
  }
  return buffer.subarray(0, length);
}

/** At most `limit` bytes from the open file `handle`, from its current position (fewer at end of file). */
export async function readAtMost(handle: FileHandle, limit: number, expected?: number): Promise<Buffer> {
  let buffer: Buffer = Buffer.alloc(firstSize(limit, expected));
  let length = 0;
  for (let n = -1; n !== 0 && length < limit; length += n) {
    if (length === buffer.length) buffer = grown(buffer, length, limit);
    n = (await handle.read(buffer, length, buffer.length - length, null)).bytesRead;
  }
  return buffer.subarray(0, length);
}
