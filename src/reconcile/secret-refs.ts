// Secret references keep secrets out of Git: a secret field may hold `${env:NAME}` or `${file:PATH}`
// (alone or inside a value, e.g. "Bearer ${env:GITHUB_TOKEN}"). The reconciler resolves them when it
// builds the gateway entry; the resource only ever stores the reference.
import { readFileSync } from 'node:fs';
import { isAbsolute, relative, resolve } from 'node:path';
import { ReconcileError } from '../domain/errors.js';
import { SECRET_REFERENCE, type SecretResolver } from '../domain/secret-reference.js';

/** The control plane's own secrets can never be read through a reference. */
const RESERVED_ENV = /^MCP_CP_/;

export interface SecretResolverOptions {
  env: NodeJS.ProcessEnv;
  /** `${file:PATH}` is read relative to this directory, and never from outside it. */
  secretsDir: string;
}

export function createSecretResolver(options: SecretResolverOptions): SecretResolver {
  const root = resolve(options.secretsDir);
  const notFound = (ref: string, why: string) => new ReconcileError(`Secret reference ${ref} ${why}`, 'SecretNotFound');
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
    try {
      return readFileSync(path, 'utf8').replace(/\r?\n$/, '');
    } catch {
      throw notFound(ref, `cannot be read: create ${path} (readable by the control plane).`);
    }
  };
  return {
    resolve: (value) => value.replace(SECRET_REFERENCE, (_m, kind: string, name: string) => lookup(kind, name)),
  };
}
