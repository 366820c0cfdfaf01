// The frames in an SQLite database's WAL now, read from the wal-index header (mxFrame, offset 16 of the -shm
// file) without a checkpoint or a connection; it drops when the WAL starts over.
import { closeSync, openSync, readSync } from 'node:fs';

export function walFrames(path: string): number {
  const fd = openSync(`${path}-shm`, 'r');
  try {
    const word = Buffer.alloc(4);
    readSync(fd, word, 0, 4, 16);
    return word.readUInt32LE(0);
  } finally {
    closeSync(fd);
  }
}
