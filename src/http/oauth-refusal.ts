// The OAuth endpoints an OAuth client falls back to at this origin (RFC 7591 registration, the
// authorization and token endpoints), answered with a refusal that says what to do instead: this
// control plane signs nobody in; /mcp/{name} and the API take bearer tokens its administrators issue.
//
// Why it exists: an MCP client that meets a 401 on /mcp/{name} may start OAuth whatever the challenge
// says (mcp-remote does on every 401), finds no authorization server metadata, and posts a registration
// to /register at the server's origin. Answered 404 it reports a failed registration (and mcp-remote
// tries its other transport first); answered here, it reports whether its bearer token was missing or
// not valid. 403, not 404: the route is known and refuses. Metadata lookups stay 404 (RFC 8414: no
// authorization server here).
import type { Request, Response, Router } from 'express';
import express from 'express';
import { bearerToken, type Authenticator } from '../auth/authenticator.js';

export function oauthRefusalRouter(authenticator: Authenticator): Router {
  const router = express.Router();
  const refuse = (req: Request, res: Response) => {
    res.status(403).json({ error: { code: 'NoOAuthSignIn', message: refusal(req, authenticator) } });
  };
  router.post('/register', refuse);
  router.get('/authorize', refuse);
  router.post('/token', refuse);
  return router;
}

function refusal(req: Request, authenticator: Authenticator): string {
  const base = 'This MCP gateway offers no OAuth sign-in or client registration: its servers (/mcp/{name}) take a bearer token an administrator of the gateway issued, sent as Authorization: Bearer <token>.';
  const token = bearerToken(req.headers.authorization);
  if (token === undefined) return `${base} No bearer token was sent: configure the client to send one.`;
  if (!authenticator.authenticate(token)) return `${base} The bearer token is not valid: check the token the client sends, or ask an administrator for a new one.`;
  return `${base} The bearer token sent is valid: use it without OAuth.`;
}
