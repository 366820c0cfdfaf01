// GET /api/svc/v1/cluster: the replicas and the leader, for administrators only (it names internal URLs).
import { Router } from 'express';
import type { ClusterView } from '../cluster/cluster-view.js';
import { ForbiddenError } from '../domain/errors.js';
import { principalOf } from './authenticate.js';

export function clusterRouter(view: ClusterView): Router {
  const router = Router();
  router.get('/', async (req, res) => {
    if (principalOf(req).role !== 'admin') throw new ForbiddenError('Reading the cluster needs an admin token.');
    res.json(await view.status());
  });
  return router;
}
