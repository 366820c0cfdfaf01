// One file of a watched directory → its documents, or every error in it at once (syntax, schema,
// a name declared twice), each with line:col and a JSON pointer. The text is parsed and validated in a
// worker thread (src/manifest/parse-pool.ts), never on the event loop.
import { createHash } from 'node:crypto';
import { closeSync, constants, fstatSync, openSync, type Stats } from 'node:fs';
import { open } from 'node:fs/promises';
import type { FieldError } from '../domain/errors.js';
import type { SourcePosition, ValidatedManifest } from '../manifest/index.js';
import { outlineLocator, type ManifestDocument } from '../manifest/manifest-documents.js';
import type { ParsePool } from '../manifest/parse-pool.js';
import { readAtMost, readAtMostSync } from '../read-at-most.js';
import { MAX_MANIFEST_FILE_BYTES, formatOf, toAbsolute } from './manifest-files.js';

/** One error in one file. `line`/`col` are 1-based; `pointer` is a JSON pointer into the document. */
export interface SourceFileError {
  /** The file, relative to the source root. */
  path: string;
  line: number;
  col: number;
  pointer: string;
  message: string;
}

/** A document of a file that parsed and validated. */
export interface DeclaredDocument {
  /** 0-based index among the file's documents (empty ones count), as in SourceRef.document. */
  document: number;
  name: string;
  /** The manifest as written, validated (intake normalises it, and does not validate it again). */
  manifest: ValidatedManifest;
  locate(pointer: string): SourcePosition | undefined;
}

export type FileReading =
  /** The file is gone (or is not a file any more): it declares nothing. */
  | { kind: 'missing'; path: string }
  | {
      kind: 'read';
      path: string;
      /** sha256 of the bytes; null when the file was not read (too large, unreadable). */
      contentHash: string | null;
      /** Valid documents; when `errors` is not empty the file as a whole is not applied. */
      documents: DeclaredDocument[];
      /** Names the file declares as far as they could be read, valid or not (prune holds these back). */
      names: string[];
      errors: SourceFileError[];
    };

/** A FieldError of a document → a file error, positioned by the parser or else located by pointer. */
export function toFileError(
  path: string,
  error: FieldError,
  locate: ((pointer: string) => SourcePosition | undefined) | undefined,
): SourceFileError {
  const pos = error.line !== undefined ? { line: error.line, col: error.col ?? 1 } : locate?.(error.path);
  return { path, line: pos?.line ?? 1, col: pos?.col ?? 1, pointer: error.path, message: error.message };
}

export function wholeFileError(path: string, message: string): SourceFileError {
  return { path, line: 1, col: 1, pointer: '', message };
}

/**
 * Reads one file and parses it in `pool`. `syncRead` reads the bytes at once instead of through the
 * libuv thread pool: for a batch of a few files (an edit), which should not wait behind whatever else
 * keeps that pool busy (another source's large batch, the watcher's polls).
 */
export async function readManifestFile(root: string, path: string, pool: ParsePool, options: { syncRead?: boolean } = {}): Promise<FileReading> {
  if (options.syncRead) {
    const read = readBytesSync(root, path);
    return Buffer.isBuffer(read) ? readingOf(path, read, pool) : read;
  }
  let bytes: Buffer;
  try {
    // O_NONBLOCK: a FIFO that happens to be named *.yaml must not block the source forever.
    const handle = await open(toAbsolute(root, path), constants.O_RDONLY | constants.O_NONBLOCK);
    try {
      const info = await handle.stat();
      const early = checkStats(path, info);
      if (early) return early;
      bytes = await readAtMost(handle, MAX_MANIFEST_FILE_BYTES + 1, info.size);
    } finally {
      await handle.close();
    }
  } catch (err) {
    return unreadable(path, err);
  }
  return readingOf(path, bytes, pool);
}

/** The bytes of a file, read synchronously, or what keeps it from being read. */
function readBytesSync(root: string, path: string): Buffer | FileReading {
  let bytes: Buffer;
  let fd: number | undefined;
  try {
    fd = openSync(toAbsolute(root, path), constants.O_RDONLY | constants.O_NONBLOCK);
    const info = fstatSync(fd);
    const early = checkStats(path, info);
    if (early) return early;
    bytes = readAtMostSync(fd, MAX_MANIFEST_FILE_BYTES + 1, info.size);
  } catch (err) {
    return unreadable(path, err);
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
  return bytes;
}

/** What the stats alone decide (a directory, not a regular file, too large), or undefined to read on. */
function checkStats(path: string, info: Stats): FileReading | undefined {
  if (info.isDirectory()) return { kind: 'missing', path };
  if (!info.isFile()) return refused(path, null, 'not a regular file; a manifest must be a regular file (or a symlink to one)');
  if (info.size > MAX_MANIFEST_FILE_BYTES) {
    return refused(path, null, `the file is ${info.size} bytes; a manifest file may hold at most 1 MiB (${MAX_MANIFEST_FILE_BYTES} bytes): split it into several files`);
  }
  return undefined;
}

function unreadable(path: string, err: unknown): FileReading {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'EISDIR') return { kind: 'missing', path };
  return refused(path, null, `the file cannot be read (${code ?? (err as Error).message}); check its permissions`);
}

async function readingOf(path: string, bytes: Buffer, pool: ParsePool): Promise<FileReading> {
  // The file grew between stat and read: only its first MAX + 1 bytes were read, which hash to nothing stable.
  if (bytes.length > MAX_MANIFEST_FILE_BYTES) {
    return refused(path, null, `the file is larger than 1 MiB (${MAX_MANIFEST_FILE_BYTES} bytes); split it into several files`);
  }
  return parseManifestText(path, bytes.toString('utf8').replace(/^\uFEFF/, ''), contentHash(bytes), pool);
}

/**
 * Whether a regular file still hashes to `trustedHash`, read synchronously: a full sync checks its
 * trusted files this way, so hashing a thousand unchanged files takes milliseconds instead of
 * thousands of event-loop turns shared with whatever else runs at startup. Anything unusual (gone, not
 * a regular file, too large, unreadable) answers false, and the file takes the ordinary path.
 */
export function stillHashesTo(root: string, path: string, trustedHash: string): boolean {
  let fd: number | undefined;
  try {
    // O_NONBLOCK, as in readManifestFile: a FIFO must not block.
    fd = openSync(toAbsolute(root, path), constants.O_RDONLY | constants.O_NONBLOCK);
    const info = fstatSync(fd);
    if (!info.isFile() || info.size > MAX_MANIFEST_FILE_BYTES) return false;
    const bytes = readAtMostSync(fd, MAX_MANIFEST_FILE_BYTES + 1, info.size);
    return bytes.length <= MAX_MANIFEST_FILE_BYTES && contentHash(bytes) === trustedHash;
  } catch {
    return false;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

export function contentHash(bytes: Buffer | string): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

/** Text of a file → its valid documents and every error (syntax, schema, duplicate names), parsed in a worker of `pool`. */
export async function parseManifestText(path: string, text: string, hash: string, pool: ParsePool): Promise<FileReading> {
  return readingOfDocuments(path, hash, await pool.readManifests(text, formatOf(path)));
}

/**
 * Pure: the parsed documents of a file → its reading. A declared document keeps no parse tree (a batch
 * holds every reading of a directory at once), only its outline (pointer → line:col), which positions
 * the errors found at commit.
 */
export function readingOfDocuments(path: string, hash: string, parsed: ManifestDocument[]): FileReading {
  const documents: DeclaredDocument[] = [];
  const names: string[] = [];
  const errors: SourceFileError[] = [];
  const firstByName = new Map<string, DeclaredDocument>();
  for (const doc of parsed) {
    const locate = outlineLocator(doc.outline);
    const name = doc.name;
    if (name !== undefined) names.push(name);
    if (!doc.valid) {
      errors.push(...doc.errors.map((e) => toFileError(path, e, locate)));
      continue;
    }
    const declared: DeclaredDocument = { document: doc.index, name: name!, manifest: doc.value!, locate };
    const first = firstByName.get(declared.name);
    if (first) {
      const at = first.locate('/name');
      errors.push(
        toFileError(
          path,
          {
            path: '/name',
            message:
              `the name "${declared.name}" is already declared by document ${first.document} of this file` +
              `${at ? ` (line ${at.line})` : ''}; each MCP server is declared once`,
          },
          locate,
        ),
      );
      continue;
    }
    firstByName.set(declared.name, declared);
    documents.push(declared);
  }
  errors.sort((a, b) => a.line - b.line || a.col - b.col);
  return { kind: 'read', path, contentHash: hash, documents, names: [...new Set(names)], errors };
}

function refused(path: string, hash: string | null, message: string): FileReading {
  return { kind: 'read', path, contentHash: hash, documents: [], names: [], errors: [wholeFileError(path, message)] };
}
