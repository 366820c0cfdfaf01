// A caller's own header values for a per-user header server (auth_data: { type: header, auth_level:
// per_user }): PUT /api/svc/v1/mcp-servers/{id}/credentials stores them (sealed, for this caller and this
// server only), GET answers which names are set (never a value), DELETE removes them and ends the caller's
// sessions of that server. Any subject who may use the server through the gateway may set their own.
import { Router, type Request, type Response } from 'express';
import { ForbiddenError, ValidationError, ConflictError, type FieldError } from '../domain/errors.js';
import type { McpServerResource } from '../domain/resource.js';
import { hasSecretReference } from '../domain/secret-reference.js';
import type { Clock } from '../domain/clock.js';
import { credentialBinding } from '../credentials/binding.js';
import { callerAuthStatus, headerNamesOf, perUserAuthOf } from '../credentials/caller-auth-status.js';
import { placeholderNames, VALUE_NAME } from '../credentials/placeholders.js';
import type { AccessPolicy } from '../intake/index.js';
import type { CredentialStore, ResourceReader } from '../store/index.js';
import { principalOf } from './authenticate.js';
import { usableServer } from './usable-server.js';
import { requireJson } from './errors.js';

export interface CredentialsRouterOptions {
  store: ResourceReader;
  credentials: CredentialStore;
  policy: AccessPolicy;
  fqnOf(name: string): string;
  publicUrl: string;
  clock: Clock;
  /** The caller disconnected from the server: their gateway sessions of it end. */
  onDisconnected?(fqn: string, subject: string): void;
  /** The caller set credentials for the server: its tools may be discovered with them now. */
  onConnected?(fqn: string): void;
}

/** The longest value a caller may set (a header value's cap). */
const MAX_VALUE_CHARS = 8192;

export function credentialsRouter(options: CredentialsRouterOptions): Router {
  const router = Router();
  const { store, credentials, policy } = options;

  const usable = usableServer(store, policy, options.fqnOf);

  /** The server's per_user header templates' names; 409 for a server that takes none. */
  const wantedNames = (r: McpServerResource): string[] => {
    const perUser = perUserAuthOf(r);
    if (perUser?.auth.type !== 'header') {
      throw new ConflictError(
        `MCP server "${r.name}" takes no per-user header values (its auth_data is not { type: header, auth_level: per_user })` +
          (perUser?.auth.type === 'oauth2' ? '; connect your account with POST .../oauth/authorize instead.' : '.'),
      );
    }
    return placeholderNames(perUser.auth.headers);
  };

  const answer = async (req: Request, res: Response, r: McpServerResource) => {
    const subject = principalOf(req).subject.subjectId;
    const { names, missing } = await headerNamesOf(r, subject, credentials);
    const authStatus = await callerAuthStatus(r, subject, { store: credentials, publicUrl: options.publicUrl, now: options.clock.now() });
    res.json({ data: { id: r.id, name: r.name, names, missing, authStatus } });
  };

  const put = async (req: Request, res: Response) => {
    const r = await usable(req);
    const wanted = wantedNames(r);
    const values = parseValues(req.body, wanted, principalOf(req).role === 'admin');
    const perUser = perUserAuthOf(r)!;
    await credentials.putCredential({ fqn: r.fqn, subject: principalOf(req).subject.subjectId, kind: 'header', secrets: values, data: {}, binding: credentialBinding(perUser.url, perUser.auth)! });
    options.onConnected?.(r.fqn);
    await answer(req, res, r);
  };

  const get = async (req: Request, res: Response) => {
    const r = await usable(req);
    wantedNames(r);
    await answer(req, res, r);
  };

  const remove = async (req: Request, res: Response) => {
    const r = await usable(req);
    wantedNames(r);
    const subject = principalOf(req).subject.subjectId;
    if (await credentials.deleteCredential(r.fqn, subject, 'header')) options.onDisconnected?.(r.fqn, subject);
    await answer(req, res, r);
  };

  for (const prefix of ['/name/:name', '/:id']) {
    router.put(`${prefix}/credentials`, requireJson, put);
    router.get(`${prefix}/credentials`, get);
    router.delete(`${prefix}/credentials`, remove);
  }
  return router;
}

/** The body's values: every name one the server's templates ask for, every value a header-safe string. */
function parseValues(body: unknown, wanted: string[], admin: boolean): Record<string, string> {
  const errors: FieldError[] = [];
  const b = body as { values?: unknown } | null;
  if (typeof b !== 'object' || b === null || Array.isArray(b)) throw new ValidationError('The body must be {"values": {"NAME": "value", …}}.', [{ path: '', message: 'must be an object with "values"' }]);
  for (const key of Object.keys(b)) if (key !== 'values') errors.push({ path: `/${key}`, message: 'is not a field of this body; send only "values"' });
  const values = b.values;
  if (typeof values !== 'object' || values === null || Array.isArray(values)) {
    errors.push({ path: '/values', message: `must be an object of name → value, for the names ${wanted.join(', ')}` });
    throw new ValidationError(errors.map((e) => `${e.path}: ${e.message}`).join('; '), errors);
  }
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(values as Record<string, unknown>)) {
    const path = `/values/${name}`;
    if (!VALUE_NAME.test(name) || !wanted.includes(name)) {
      errors.push({ path, message: `is not a name this server's headers ask for; it asks for ${wanted.join(', ')}` });
      continue;
    }
    if (typeof value !== 'string' || value.length === 0 || value.length > MAX_VALUE_CHARS || /[\r\n\0]/.test(value)) {
      errors.push({ path, message: `must be a non-empty text of at most ${MAX_VALUE_CHARS} characters without line breaks` });
      continue;
    }
    if (hasSecretReference(value) && !admin) throw new ForbiddenError(`${path}: a secret reference (\${env:…}, \${file:…}) may be set by an administrator only; send the value itself.`);
    out[name] = value;
  }
  if (errors.length > 0) throw new ValidationError(errors.map((e) => `${e.path}: ${e.message}`).join('; '), errors);
  if (Object.keys(out).length === 0) throw new ValidationError(`/values: set at least one of ${wanted.join(', ')}.`, [{ path: '/values', message: `set at least one of ${wanted.join(', ')}` }]);
  return out;
}
