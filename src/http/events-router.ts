// GET /api/svc/v1/events: recent events across the servers the caller may read.
import { Router } from 'express';
import type { AccessPolicy } from '../intake/index.js';
import { ValidationError } from '../domain/errors.js';
import type { EventLog, ResourceReader, StoredEvent } from '../store/index.js';
import { principalOf } from './authenticate.js';
import { presentEvent } from './present.js';

export function eventsRouter(options: { store: ResourceReader & EventLog; policy: AccessPolicy }): Router {
  const router = Router();
  router.get('/', async (req, res) => {
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
    // An event is readable with the resource it belongs to (by id: not a later one of the same name);
    // the events of a deleted resource only by a tenant admin. The store's filter is synchronous and the
    // resources are read asynchronously: a first pass collects the ids it has not decided (counting them
    // out), they are read, and a second pass decides with all of them known (it scans no further than the
    // first, which passed over fewer events).
    const query = { limit, ...(since ? { since: new Date(since).toISOString() } : {}) };
    let visible: StoredEvent[];
    if (principal.role === 'admin') {
      visible = await options.store.listEvents(query);
    } else {
      const readable = new Map<string, boolean>();
      for (;;) {
        const undecided = new Set<string>();
        visible = await options.store.listEvents({
          ...query,
          filter: (e: StoredEvent) => readable.get(e.resourceId) ?? (undecided.add(e.resourceId), false),
        });
        if (undecided.size === 0) break;
        for (const id of undecided) {
          const r = await options.store.getById(id);
          readable.set(id, r !== undefined && options.policy.canRead(principal, r));
        }
      }
    }
    res.json({ data: visible.map(presentEvent) });
  });
  return router;
}
