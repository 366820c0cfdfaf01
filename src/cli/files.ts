// -f PATH...: files and directories (recursive; *.yaml, *.yml, *.json; dotfiles skipped) → the
// documents in them, in a stable order: the order of the -f arguments, each directory's files sorted
// by path, each file's documents in file order. A file named twice is read once.
import { readdirSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { extname, join, resolve } from 'node:path';
import { parseDocuments, type ParsedDocument } from '../manifest/index.js';

export const MANIFEST_EXTENSIONS = ['.yaml', '.yml', '.json'];

export interface ManifestFile {
  /** As shown to people: the -f argument, joined with the path found under it for directories; STDIN for -f -. */
  display: string;
  /** Empty for stdin. */
  absolute: string;
}

/** -f - : the documents come from standard input. */
export const STDIN_PATH = '-';
const STDIN_DISPLAY = 'STDIN';

/** Reads all of standard input (injected: tests pass text). */
export type StdinReader = () => string;

export interface SourceDocument {
  file: string;
  /** 0-based index of the document in its file (empty YAML documents count, so indices stay stable). */
  index: number;
  parsed: ParsedDocument;
}

export type Expansion = { ok: true; files: ManifestFile[] } | { ok: false; message: string };

function isManifestName(name: string): boolean {
  return !name.startsWith('.') && MANIFEST_EXTENSIONS.includes(extname(name).toLowerCase());
}

function walk(dirAbs: string, dirDisplay: string, seenDirs: Set<string>, out: ManifestFile[]): void {
  const real = realpathSync(dirAbs);
  if (seenDirs.has(real)) return; // a symlink loop
  seenDirs.add(real);
  const names = readdirSync(dirAbs).filter((n) => !n.startsWith('.'));
  names.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  for (const name of names) {
    const abs = join(dirAbs, name);
    const display = join(dirDisplay, name);
    const stat = statSync(abs, { throwIfNoEntry: false });
    if (!stat) continue; // a dangling symlink
    if (stat.isDirectory()) walk(abs, display, seenDirs, out);
    else if (stat.isFile() && isManifestName(name)) out.push({ display, absolute: abs });
  }
}

/** Expands -f arguments. Any path that does not exist or cannot be read is an error. */
export function expandPaths(paths: readonly string[], cwd: string): Expansion {
  if (paths.length === 0) return { ok: false, message: 'no manifests given: pass -f PATH (a file or a directory), once or more' };
  const files: ManifestFile[] = [];
  for (const path of paths) {
    if (path === STDIN_PATH) {
      files.push({ display: STDIN_DISPLAY, absolute: '' });
      continue;
    }
    const absolute = resolve(cwd, path);
    const stat = statSync(absolute, { throwIfNoEntry: false });
    if (!stat) return { ok: false, message: `${path}: no such file or directory` };
    try {
      if (stat.isDirectory()) {
        const found: ManifestFile[] = [];
        walk(absolute, path, new Set(), found);
        // By whole path, as a watched directory orders its files (its first declaration of a name wins),
        // not directory by directory: "a-b.yaml" comes before "a/z.yaml".
        found.sort((a, b) => (a.display < b.display ? -1 : a.display > b.display ? 1 : 0));
        if (found.length === 0) return { ok: false, message: `${path}: no *.yaml, *.yml or *.json files in this directory` };
        files.push(...found);
      } else if (stat.isFile()) {
        files.push({ display: path, absolute });
      } else {
        return { ok: false, message: `${path}: not a file or a directory` };
      }
    } catch (err) {
      return { ok: false, message: `${path}: cannot be read (${(err as NodeJS.ErrnoException).code ?? String(err)})` };
    }
  }
  const seen = new Set<string>();
  return {
    ok: true,
    files: files.filter((f) => {
      if (f.absolute === '' ? seen.has(STDIN_DISPLAY) : seen.has(f.absolute)) return false;
      if (f.absolute === '') seen.add(STDIN_DISPLAY);
      seen.add(f.absolute);
      return true;
    }),
  };
}

export type Reading = { ok: true; documents: SourceDocument[] } | { ok: false; message: string };

/** Reads and parses every file; syntax errors land in the documents, unreadable files fail the whole read. */
export function readDocuments(files: readonly ManifestFile[], stdin?: StdinReader): Reading {
  const documents: SourceDocument[] = [];
  for (const file of files) {
    let text: string;
    try {
      if (file.absolute === '') {
        if (!stdin) return { ok: false, message: '-f -: this command cannot read standard input' };
        text = stdin();
      } else {
        text = readFileSync(file.absolute, 'utf8');
      }
    } catch (err) {
      return { ok: false, message: `${file.display}: cannot be read (${(err as NodeJS.ErrnoException).code ?? String(err)})` };
    }
    const format = extname(file.absolute).toLowerCase() === '.json' ? 'json' : 'yaml';
    for (const parsed of parseDocuments(text, { format })) documents.push({ file: file.display, index: parsed.index, parsed });
  }
  return { ok: true, documents };
}

/** expandPaths, then readDocuments. */
export function loadDocuments(paths: readonly string[], cwd: string, stdin?: StdinReader): Reading & { files?: ManifestFile[] } {
  const expansion = expandPaths(paths, cwd);
  if (!expansion.ok) return expansion;
  const reading = readDocuments(expansion.files, stdin);
  return reading.ok ? { ...reading, files: expansion.files } : reading;
}
