// mcp-server/stdio rules the schema cannot state, and the rewrite of its deprecated top-level `env`
// into the reference shape `auth_data: { type: env, env, auth_level }`. Pure; on unvalidated input too.
import type { FieldError } from '../domain/errors.js';
import { isPlainObject } from './pointer.js';

/** Both spellings at once, and per-user values (not built: there is no per-user credentials store). */
export function checkStdioManifest(value: Record<string, unknown>): FieldError[] {
  const errors: FieldError[] = [];
  if (Object.hasOwn(value, 'env') && Object.hasOwn(value, 'auth_data')) {
    errors.push({
      path: '/env',
      message: 'env is the deprecated spelling of auth_data.env; send only auth_data: { type: env, env: {...} } (move these variables there)',
    });
  }
  const auth = value.auth_data;
  if (isPlainObject(auth) && auth.auth_level === 'per_user') {
    errors.push({
      path: '/auth_data/auth_level',
      message:
        'per_user (each user\'s own environment values) is not available: this control plane has no per-user credentials yet; use auth_level: global (one set of values for every user)',
    });
  }
  return errors;
}

/**
 * A copy of a stdio manifest with a top-level `env` moved to `auth_data` (global); an empty one is
 * dropped. A manifest without it is answered as it is.
 */
export function rewriteStdioEnvAlias<T extends object>(m: T): T {
  const value = m as Record<string, unknown>;
  if (!Object.hasOwn(value, 'env') || Object.hasOwn(value, 'auth_data')) return m;
  const { env, ...rest } = value;
  if (isPlainObject(env) && Object.keys(env).length > 0) rest.auth_data = { type: 'env', env, auth_level: 'global' };
  return rest as T;
}
