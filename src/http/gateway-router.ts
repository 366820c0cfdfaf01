// What the gateway store holds now: operators and tests use it to see what the gateway serves.
import { Router } from 'express';
import type { GatewayReader } from '../store/index.js';
import type { RoleAccessPolicy } from '../auth/policy.js';
import { principalOf } from './authenticate.js';
import { presentGatewayEntry } from './present.js';

export function gatewayRouter(options: { gateway: GatewayReader; policy: RoleAccessPolicy }): Router {
  const router = Router();
  router.get('/servers', async (req, res) => {
    const principal = principalOf(req);
    const entries = (await options.gateway.list()).filter((e) => options.policy.canUse(principal, e.collaborators, e.accountId));
    res.json({ data: entries.map(presentGatewayEntry) });
  });
  return router;
}
