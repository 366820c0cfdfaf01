// What one replica asks of another, outside /api: POST /internal/cluster/v1/refresh, a refresh a follower
// forwards to the leader (src/cluster/refresh-forwarding.ts). Authenticated by an internal token addressed
// to this replica (src/cluster/internal-token.ts), never by a caller's token: the follower authorised the
// caller. A replica that is not the leader refuses (503 NotLeader): only the leader runs discovery.
import express, { Router, type Request, type Response } from 'express';
import { bearerToken } from '../auth/authenticator.js';
import type { InternalTokens } from '../cluster/internal-token.js';
import { INTERNAL_REFRESH_PATH } from '../cluster/refresh-forwarding.js';
import type { RefreshServer } from '../reconcile/refresh-server.js';
import { errorBody } from './errors.js';

export interface ClusterInternalOptions {
  selfId: string;
  tokens: InternalTokens;
  isLeader(): boolean;
  /** This replica's own refresh (never the forwarding one). */
  refresh: RefreshServer;
}

export function clusterInternalRouter(options: ClusterInternalOptions): Router {
  const router = Router();
  router.post(INTERNAL_REFRESH_PATH, express.json({ limit: 16 * 1024 }), async (req: Request, res: Response) => {
    const token = bearerToken(req.headers.authorization);
    const claims = token === undefined ? undefined : await options.tokens.verify(token, options.selfId);
    if (!claims) return void res.status(401).json(errorBody('Unauthorized', 'This route takes only internal tokens addressed to this replica by another replica of the cluster.'));
    const fqn = (req.body as { fqn?: unknown } | undefined)?.fqn;
    if (claims.action !== 'refresh' || typeof fqn !== 'string' || fqn !== claims.target) {
      return void res.status(403).json(errorBody('Forbidden', 'The internal token does not allow a refresh of this server.'));
    }
    if (!options.isLeader()) {
      return void res.status(503).json(errorBody('NotLeader', `Replica ${options.selfId} is not the leader (any more); the refresh did not run.`));
    }
    const callerGone = new AbortController();
    res.on('close', () => {
      if (!res.writableFinished) callerGone.abort();
    });
    const answer = await options.refresh(fqn, callerGone.signal);
    if (!res.destroyed) res.json(answer);
  });
  return router;
}
