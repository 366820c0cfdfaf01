// Which files of a watched directory are manifests, and finding them. Paths inside a source are
// relative to its root, with forward slashes, whatever the OS.
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';

/** A file larger than this is refused with an error on the file (the same limit as a PUT body). */
export const MAX_MANIFEST_FILE_BYTES = 1024 * 1024;

const MANIFEST_EXTENSIONS = ['.yaml', '.yml', '.json'];

/**
 * Names editors and tools leave beside the files they save: vim swap files and its write test
 * ("4913"), emacs backups, lock files and autosaves, generic backup and temporary files.
 */
export function isIgnoredName(name: string): boolean {
  return (
    name.startsWith('.') ||
    name.startsWith('.#') ||
    (name.startsWith('#') && name.endsWith('#')) ||
    name.endsWith('~') ||
    name === '4913' ||
    /\.(swp|swx|bak|tmp)$/i.test(name)
  );
}

/** A path (relative to the root) the source reads: no ignored segment, a manifest extension. */
export function isManifestPath(relPath: string): boolean {
  const segments = relPath.split('/');
  if (segments.some((s) => s === '' || isIgnoredName(s))) return false;
  const name = segments[segments.length - 1]!.toLowerCase();
  return MANIFEST_EXTENSIONS.some((ext) => name.endsWith(ext));
}

export function formatOf(relPath: string): 'json' | 'yaml' {
  return relPath.toLowerCase().endsWith('.json') ? 'json' : 'yaml';
}

export function toAbsolute(root: string, relPath: string): string {
  return join(root, ...relPath.split('/'));
}

/**
 * Every manifest file under root, sorted. A missing root answers `undefined` (not an empty list), so
 * the caller can say the directory is missing; other read errors are thrown.
 */
export async function listManifestFiles(root: string): Promise<string[] | undefined> {
  const found: string[] = [];
  const walk = async (relDir: string): Promise<boolean> => {
    let entries;
    try {
      entries = await readdir(relDir === '' ? root : toAbsolute(root, relDir), { withFileTypes: true });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (relDir === '' && (code === 'ENOENT' || code === 'ENOTDIR')) return false;
      // A subdirectory removed while walking, or unreadable: nothing to read in it.
      if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'EACCES' || code === 'EPERM') return true;
      throw err;
    }
    for (const entry of entries) {
      const rel = relDir === '' ? entry.name : `${relDir}/${entry.name}`;
      if (isIgnoredName(entry.name)) continue;
      if (entry.isDirectory()) await walk(rel);
      else if (!isManifestPath(rel)) continue;
      // A symlink counts when it points at a file; anything else that is not a directory is listed so
      // that reading it reports what is wrong with it.
      else if (!entry.isSymbolicLink() || (await isFile(toAbsolute(root, rel)))) found.push(rel);
    }
    return true;
  };
  const exists = await walk('');
  return exists ? found.sort(comparePaths) : undefined;
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

/** Lexicographic by code unit: the order "first file wins" refers to. */
export function comparePaths(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
