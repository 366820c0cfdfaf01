// GET /api/svc/v1/events: recent events across the servers the caller may read.
import { Router } from 'express';
import type { AccessPolicy } from '../intake/index.js';
import { ValidationError } from '../domain/errors.js';
import type { ResourceStore } from '../store/index.js';
import { principalOf } from './authenticate.js';
import { presentEvent } from './present.js';

export function eventsRouter(options: { store: ResourceStore; policy: AccessPolicy }): Router {
  const router = Router();
  router.get('/', (req, res) => {
    const limitRaw = typeof req.query.limit === 'string' ? req.query.limit : '100';
    const limit = /^\d+$/.test(limitRaw) ? Number(limitRaw) : NaN;
    if (!(limit >= 1 && limit <= 1000)) {
      throw new ValidationError(`/query/limit: must be a whole number from 1 to 1000, got "${limitRaw}"`, [
        { path: '/query/limit', message: 'must be a whole number from 1 to 1000' },
      ]);
    }
    const since = typeof req.query.since === 'string' ? req.query.since : undefined;
    if (since !== undefined && Number.isNaN(Date.parse(since))) {
      throw new ValidationError(`/query/since: must be an ISO 8601 time, got "${since}"`, [
        { path: '/query/since', message: 'must be an ISO 8601 time such as 2026-01-01T00:00:00Z' },
      ]);
    }
    const principal = principalOf(req);
    const events = options.store.listEvents({ limit, ...(since ? { since: new Date(since).toISOString() } : {}) });
    const visible = events.filter((e) => {
      if (principal.role === 'admin') return true;
      const r = options.store.get(e.fqn);
      return r !== undefined && options.policy.canRead(principal, r);
    });
    res.json({ data: visible.map(presentEvent) });
  });
  return router;
}
