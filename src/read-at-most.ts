// Reading a file whose size was checked with stat: it may grow (or be replaced by a stream) before the
// read, so the read itself is bounded. Read at most `limit` bytes; callers pass their cap + 1, and a
// result longer than the cap means the file passed it.
import { readSync } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';

/** At most `limit` bytes from the open file `fd`, from its current position (fewer at end of file). */
export function readAtMostSync(fd: number, limit: number): Buffer {
  const buffer = Buffer.alloc(limit);
  let length = 0;
  for (let n = -1; n !== 0 && length < limit; length += n) n = readSync(fd, buffer, length, limit - length, null);
  return buffer.subarray(0, length);
}

/** At most `limit` bytes from the open file `handle`, from its current position (fewer at end of file). */
export async function readAtMost(handle: FileHandle, limit: number): Promise<Buffer> {
  const buffer = Buffer.alloc(limit);
  let length = 0;
  for (let n = -1; n !== 0 && length < limit; length += n) n = (await handle.read(buffer, length, limit - length, null)).bytesRead;
  return buffer.subarray(0, length);
}
