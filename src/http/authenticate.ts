// Authentication is always on: every API route needs a bearer token of a known subject.
import type { Request, RequestHandler } from 'express';
import { bearerToken, type Authenticator } from '../auth/authenticator.js';
import { UnauthorizedError } from '../domain/errors.js';
import type { Principal } from '../domain/principal.js';

const PRINCIPAL = Symbol('principal');


export function authenticate(authenticator: Authenticator): RequestHandler {
  return (req, res, next) => {
    const token = bearerToken(req.headers.authorization);
    const principal = token !== undefined ? authenticator.authenticate(token) : undefined;
    if (!principal) {
      res.setHeader('WWW-Authenticate', 'Bearer realm="mcp-control-plane"');
      return next(
        new UnauthorizedError(
          token === undefined
            ? 'Send a bearer token: Authorization: Bearer <token>.'
            : 'The bearer token is not valid; check it or ask an administrator for a new one.',
        ),
      );
    }
    (req as Request & { [PRINCIPAL]?: Principal })[PRINCIPAL] = principal;
    next();
  };
}

export function principalOf(req: Request): Principal {
  const p = (req as Request & { [PRINCIPAL]?: Principal })[PRINCIPAL];
  if (!p) throw new UnauthorizedError('Not authenticated.');
  return p;
}
