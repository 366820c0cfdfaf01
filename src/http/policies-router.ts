// Admission policies (mcp-policy/admission): GET /api/svc/v1/policies (list), GET and DELETE
// /api/svc/v1/policies/{name}, GET .../{name}/events. Applied with PUT /api/svc/v1/mcp-servers like any
// manifest. Tenant admins only (AccessPolicy.authorizePolicies): the rules may name internal hosts.
import { Router, type Request, type Response } from 'express';
import { NotFoundError, ValidationError, type FieldError } from '../domain/errors.js';
import { single, wholeNumberParam } from './query-params.js';
import { policyFqn, policyScope } from '../domain/policy.js';
import type { AccessPolicy, Intake } from '../intake/index.js';
import type { EventLog, ResourceReader } from '../store/index.js';
import { principalOf } from './authenticate.js';
import { presentEvent } from './present.js';
import { presentPolicy } from './present-policy.js';

export interface PoliciesRouterOptions {
  intake: Intake;
  store: ResourceReader & EventLog;
  policy: AccessPolicy;
  tenant: string;
}

export function policiesRouter(options: PoliciesRouterOptions): Router {
  const { intake, store, policy, tenant } = options;
  const router = Router();

  const named = async (req: Request) => {
    policy.authorizePolicies(principalOf(req));
    const name = String(req.params.name ?? '');
    const r = await store.get(policyFqn(tenant, name));
    if (!r) throw new NotFoundError(`Admission policy "${name}" not found; list them with GET /api/svc/v1/policies.`);
    return r;
  };

  router.get('/', async (req, res) => {
    policy.authorizePolicies(principalOf(req));
    const errors: FieldError[] = [];
    const limit = wholeNumberParam(req.query.limit, 'limit', 1, 1000, 100, errors);
    const offset = wholeNumberParam(req.query.offset, 'offset', 0, Number.MAX_SAFE_INTEGER, 0, errors);
    if (errors.length > 0) throw new ValidationError(errors.map((e) => `${e.path}: ${e.message}`).join('; '), errors);
    const { items, total } = await store.list({ tenant: policyScope(tenant), limit, offset, masked: true });
    res.json({ data: items.map(presentPolicy), pagination: { total, offset, limit } });
  });

  router.get('/:name', async (req, res) => {
    const r = await named(req);
    res.setHeader('ETag', `"${r.resourceVersion}"`);
    res.json({ data: presentPolicy(r) });
  });

  router.get('/:name/events', async (req, res) => {
    const r = await named(req);
    res.json({ data: (await store.listEvents({ resourceId: r.id, limit: 100 })).map(presentEvent) });
  });

  router.delete('/:name', async (req: Request, res: Response) => {
    const removed = await intake.deletePolicy({
      name: String(req.params.name ?? ''),
      source: { kind: 'api' },
      force: single(req.query.force) === 'true',
      principal: principalOf(req),
      ...(single(req.headers['if-match']) !== undefined ? { ifMatch: single(req.headers['if-match'])! } : {}),
    });
    res.json({ data: presentPolicy(removed) });
  });

  return router;
}
