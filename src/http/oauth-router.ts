// Connecting a caller's own account to a per-user OAuth server (auth_data oauth2, authorization_code):
// POST .../{id}/oauth/authorize answers the URL to open in a browser; the authorization server sends the
// browser back to the public GET /oauth/callback (authenticated by its state alone), which stores the tokens
// and answers a small page; DELETE .../{id}/oauth/token disconnects (revoking where supported) and ends the
// caller's gateway sessions of that server. The flow itself is src/credentials/oauth-connections.ts.
import { Router, type Request, type Response } from 'express';
import { ConflictError } from '../domain/errors.js';
import type { Clock } from '../domain/clock.js';
import type { McpServerResource } from '../domain/resource.js';
import { callerAuthStatus } from '../credentials/caller-auth-status.js';
import { CALLBACK_PATH, type OAuthConnections } from '../credentials/oauth-connections.js';
import type { AccessPolicy } from '../intake/index.js';
import type { CredentialStore, GatewayReader, ResourceReader } from '../store/index.js';
import { principalOf } from './authenticate.js';
import { usableServer } from './usable-server.js';

export interface OAuthRouterOptions {
  store: ResourceReader;
  gateway: Pick<GatewayReader, 'get'>;
  credentials: Pick<CredentialStore, 'getCredential'>;
  connections: OAuthConnections;
  policy: AccessPolicy;
  fqnOf(name: string): string;
  publicUrl: string;
  clock: Clock;
  onDisconnected?(fqn: string, subject: string): void;
}

/** The authenticated routes, below /api/svc/v1/mcp-servers. */
export function oauthRouter(options: OAuthRouterOptions): Router {
  const router = Router();
  const { store, policy, connections } = options;

  const usable = usableServer(store, policy, options.fqnOf);

  const authStatus = (req: Request, r: McpServerResource) =>
    callerAuthStatus(r, principalOf(req).subject.subjectId, { store: options.credentials, publicUrl: options.publicUrl, now: options.clock.now() });

  const authorize = async (req: Request, res: Response) => {
    const r = await usable(req);
    const entry = await options.gateway.get(r.fqn);
    if (entry?.perUser?.kind !== 'oauth') {
      throw new ConflictError(
        entry && !entry.perUser ? `MCP server "${r.name}" does not take a connected account (its auth_data is not oauth2 authorization_code).` : `MCP server "${r.name}" is not applied to the gateway yet (or not as an OAuth server); try again in a moment.`,
      );
    }
    const { authorizationUrl } = await connections.authorize(entry, principalOf(req).subject.subjectId);
    res.setHeader('Cache-Control', 'no-store');
    res.json({ data: { authorizationUrl, redirectUri: connections.redirectUri(), expiresInSeconds: 600 } });
  };

  const disconnect = async (req: Request, res: Response) => {
    const r = await usable(req);
    const subject = principalOf(req).subject.subjectId;
    const disconnected = await connections.disconnect(r.fqn, subject);
    if (disconnected) options.onDisconnected?.(r.fqn, subject);
    res.json({ data: { disconnected, authStatus: (await authStatus(req, r)) ?? r.status.authStatus } });
  };

  for (const prefix of ['/name/:name', '/:id']) {
    router.post(`${prefix}/oauth/authorize`, authorize);
    router.delete(`${prefix}/oauth/token`, disconnect);
  }
  return router;
}

/** The public callback, at <public-url>/oauth/callback: a page saying whether the account is connected. */
export function oauthCallbackRouter(options: { connections: OAuthConnections; gateway: Pick<GatewayReader, 'get'>; onConnected?(fqn: string): void }): Router {
  const router = Router();
  router.get(CALLBACK_PATH, async (req, res) => {
    const outcome = await options.connections.callback(req.query as Record<string, unknown>, (fqn) => options.gateway.get(fqn));
    // The code is in this page's URL: no referrer carries it elsewhere, and nothing caches it.
    res.setHeader('Cache-Control', 'no-store');
    res.setHeader('Referrer-Policy', 'no-referrer');
    res.setHeader('Content-Security-Policy', "default-src 'none'; style-src 'unsafe-inline'");
    if (outcome.ok) {
      options.onConnected?.(outcome.fqn);
      res.status(200).type('html').send(page('Account connected', `Your account is connected to MCP server "${outcome.server}". You can close this page; MCP clients using the gateway now act with your own rights.`));
    } else {
      res.status(outcome.status).type('html').send(page('Not connected', outcome.message));
    }
  });
  return router;
}

function page(title: string, text: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title></head><body style="font-family:sans-serif;max-width:40em;margin:3em auto"><h1>${escapeHtml(title)}</h1><p>${escapeHtml(text)}</p></body></html>`;
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}
