// GET /api/svc/v1/mcp-servers?watch=true[&resourceVersion=N]: the watch stream (see watch-hub.ts).
// Without watch (or watch=false) the request falls through to the list route.
import type { RequestHandler } from 'express';
import { ValidationError } from '../domain/errors.js';
import type { McpServerResource } from '../domain/resource.js';
import type { AccessPolicy } from '../intake/index.js';
import { principalOf } from './authenticate.js';
import { errorBody } from './errors.js';
import type { WatchHub } from './watch-hub.js';
import type { CallerAuthViews } from './caller-auth-views.js';
import { perUserAuthOf } from '../credentials/caller-auth-status.js';
import type { ResourceReader } from '../store/index.js';

/** Set on res.locals for responses that are long-lived streams (their duration is not a latency). */
export const STREAMING = 'streaming';

const LIST_ONLY_PARAMS = ['limit', 'offset', 'name', 'tag'];

function resourceVersionOf(value: string, where: string): number {
  if (!/^\d{1,15}$/.test(value.trim())) {
    throw new ValidationError(`${where} must be a resourceVersion (a whole number from an earlier event id), got "${value}".`, [
      { path: where === 'Last-Event-ID' ? '/headers/last-event-id' : '/query/resourceVersion', message: 'must be a whole number' },
    ]);
  }
  return Number(value.trim());
}

export function watchServers(options: { hub: WatchHub; policy: AccessPolicy; callerAuth?: CallerAuthViews; store?: Pick<ResourceReader, 'get'> }): RequestHandler {
  const { hub, policy } = options;
  return async (req, res, next) => {
    const watch = req.query.watch;
    if (watch === undefined || watch === 'false' || watch === '0') return next();
    if (watch !== 'true' && watch !== '1') {
      throw new ValidationError(`watch must be true or false, got "${String(watch)}".`, [{ path: '/query/watch', message: 'must be true or false' }]);
    }
    const listOnly = LIST_ONLY_PARAMS.filter((p) => req.query[p] !== undefined);
    if (listOnly.length > 0) {
      throw new ValidationError(`${listOnly.join(', ')} cannot be combined with watch=true; a watch streams every server you may read.`, listOnly.map((p) => ({ path: `/query/${p}`, message: 'not supported with watch=true' })));
    }
    // Last-Event-ID wins: a reconnecting EventSource repeats the original URL but sends where it got to.
    const lastEventId = req.headers['last-event-id'];
    const rvParam = req.query.resourceVersion;
    let resourceVersion: number | undefined;
    if (typeof lastEventId === 'string' && lastEventId.trim() !== '') resourceVersion = resourceVersionOf(lastEventId, 'Last-Event-ID');
    else if (typeof rvParam === 'string' && rvParam !== '') resourceVersion = resourceVersionOf(rvParam, 'resourceVersion');
    else if (rvParam !== undefined && typeof rvParam !== 'string') resourceVersionOf(String(rvParam), 'resourceVersion');

    const principal = principalOf(req);
    const gone = await hub.goneReason(resourceVersion);
    if (gone) {
      res.status(410).json(errorBody('Expired', gone));
      return;
    }
    res.locals[STREAMING] = true;
    const canRead = principal.role === 'admin' ? undefined : (r: McpServerResource) => policy.canRead(principal, r);
    const readableBy = policy.readScope(principal);
    const callerAuth = options.callerAuth;
    // A per-user server's frames carry this caller's authStatus; every other frame is the one shared text.
    // It is made from the server as stored now (a change's object carries its secrets sealed, templates included).
    const authStatusFor = callerAuth
      ? (r: McpServerResource) => (perUserAuthOf(r) ? (options.store ? options.store.get(r.fqn) : Promise.resolve(r)).then((now) => (now ? callerAuth.statusIfPerUser(now, principal) : undefined)) : undefined)
      : undefined;
    await hub.open(req, res, { resourceVersion, canRead, ...(readableBy ? { readableBy } : {}), ...(authStatusFor ? { authStatusFor } : {}) });
  };
}
