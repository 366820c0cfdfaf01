// Secret references keep secrets out of Git: a secret field may hold `${env:NAME}` or `${file:PATH}`
// (alone or inside a value, e.g. "Bearer ${env:GITHUB_TOKEN}"). The reconciler resolves them when it
// builds the gateway entry; the resource only ever stores the reference.
import { closeSync, constants, fstatSync, openSync, readlinkSync, realpathSync } from 'node:fs';
import { isAbsolute, relative, resolve } from 'node:path';
import { ReconcileError } from './reconcile.js';
import { SECRET_REFERENCE, type SecretResolver } from '../domain/secret-reference.js';
import { readAtMostSync } from '../read-at-most.js';
import { ConditionReason } from '../domain/condition-reasons.js';

/** The control plane's own secrets can never be read through a reference. */
const RESERVED_ENV = /^MCP_CP_/;
/** A secret file is a token or a key, not a data set. */
export const MAX_SECRET_FILE_BYTES = 64 * 1024;

export interface SecretResolverOptions {
  env: NodeJS.ProcessEnv;
  /**
   * `${file:PATH}` is read relative to this directory, and never from outside it: the file's real path
   * (every symbolic link on the way followed) must lie inside the directory's real path.
   */
  secretsDir: string;
}

export function createSecretResolver(options: SecretResolverOptions): SecretResolver {
  const root = resolve(options.secretsDir);
  const notFound = (ref: string, why: string) => new ReconcileError(`Secret reference ${ref} ${why}`, ConditionReason.SecretNotFound);
  const lookup = (kind: string, name: string): string => {
    const ref = `\${${kind}:${name}}`;
    if (kind === 'env') {
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw notFound(ref, 'is not a valid environment variable name.');
      if (RESERVED_ENV.test(name)) throw notFound(ref, 'names a variable of the control plane itself, which is never resolvable.');
      const value = options.env[name];
      if (value === undefined) throw notFound(ref, `is not set: export ${name} in the control plane's environment.`);
      return value;
    }
    const path = resolve(root, name);
    const rel = relative(root, path);
    if (name === '' || isAbsolute(name) || rel.startsWith('..') || isAbsolute(rel)) {
      throw notFound(ref, `must name a file inside the secrets directory ${root}.`);
    }
    return readSecretFile(ref, root, path, notFound);
  };
  return {
    resolve: (value) => value.replace(SECRET_REFERENCE, (_m, kind: string, name: string) => lookup(kind, name)),
  };
}

/** The path the open descriptor `fd` names, where the system tells (Linux's /proc); else undefined. */
function openedPath(fd: number): string | undefined {
  try {
    return readlinkSync(`/proc/self/fd/${fd}`);
  } catch {
    return undefined;
  }
}

function isInside(root: string, path: string): boolean {
  const rel = relative(root, path);
  return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel);
}

/**
 * The text of the regular file at `path` (one trailing newline dropped), provided its real path lies
 * inside the real path of the secrets directory `root`. Never blocks (a FIFO is refused, not waited
 * on for a writer) and never reads more than MAX_SECRET_FILE_BYTES, even from a file that grows.
 */
function readSecretFile(ref: string, root: string, path: string, notFound: (ref: string, why: string) => Error): string {
  let realPath: string;
  let realRoot: string;
  try {
    realPath = realpathSync(path);
    realRoot = realpathSync(root);
  } catch {
    throw notFound(ref, `cannot be read: create ${path} (readable by the control plane).`);
  }
  if (!isInside(realRoot, realPath)) {
    throw notFound(ref, `is a symbolic link (or passes through one) leading outside the secrets directory ${realRoot}; only files inside it are read.`);
  }
  let fd: number | undefined;
  try {
    // O_NOFOLLOW refuses a link swapped in for the last component only; a directory on the way swapped
    // for a link between the check above and this open is caught by asking the system which file the
    // descriptor names (where it can say: /proc on Linux).
    fd = openSync(realPath, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOFOLLOW);
    const opened = openedPath(fd);
    if (opened !== undefined && opened !== realPath) {
      throw notFound(ref, `changed while it was opened (it now leads to another file); only files inside the secrets directory ${realRoot} are read.`);
    }
    const info = fstatSync(fd);
    if (!info.isFile()) throw notFound(ref, `is not a regular file; ${path} must be a file holding the secret.`);
    const bytes = readAtMostSync(fd, MAX_SECRET_FILE_BYTES + 1);
    if (bytes.length > MAX_SECRET_FILE_BYTES) throw notFound(ref, `is larger than ${MAX_SECRET_FILE_BYTES} bytes, the most a secret file may hold.`);
    return bytes.toString('utf8').replace(/\r?\n$/, '');
  } catch (err) {
    if (err instanceof ReconcileError) throw err;
    throw notFound(ref, `cannot be read: create ${path} (readable by the control plane).`);
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
