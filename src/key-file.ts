// A key kept in a file of the data directory (or one the operator names): read when it exists, else
// generated and written with mode 0600. Contract: a path that exists but is not a regular file is refused
// (the format's error), never overwritten; a new file is created exclusively, so an existing key is never
// replaced.
import { chmodSync, existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';

export interface KeyFileFormat<K> {
  /** The key that `text` (the file's content) holds; throws the format's error naming `path` when it holds none. */
  decode(text: string, path: string): K;
  /** A fresh key and the text to store it as. */
  generate(): { key: K; text: string };
  /** The error for a path that exists but is not a file. */
  notAFile(path: string): Error;
}

export interface LoadedKey<K> {
  key: K;
  /** The file it was read from (or generated into). */
  source: string;
  generated: boolean;
}

export function loadOrCreateKeyFile<K>(path: string, format: KeyFileFormat<K>): LoadedKey<K> {
  if (existsSync(path)) {
    if (!statSync(path).isFile()) throw format.notAFile(path);
    return { key: format.decode(readFileSync(path, 'utf8'), path), source: path, generated: false };
  }
  const { key, text } = format.generate();
  writeFileSync(path, text, { mode: 0o600, flag: 'wx' });
  // The mode given to writeFileSync is reduced by the umask; the key is for this user only.
  chmodSync(path, 0o600);
  return { key, source: path, generated: true };
}
