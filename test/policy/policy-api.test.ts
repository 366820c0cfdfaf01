// mcp-policy/admission through PUT /api/svc/v1/mcp-servers and /api/svc/v1/policies: admins only, CEL
// compile errors at /manifest/rules/N/expression, each action (deny, warn, audit) with dryRun, match by
// type and account, and the audit of a server stored before the policy (PolicyCompliant, the metric, the
// policy's summary; the server itself untouched).
import { StaticTokenAuthenticator } from '../../src/auth/authenticator.js';
import { ADMIN_TOKEN, remoteManifest, startTestControlPlane, waitFor, type TestControlPlane } from '../support/control-plane.js';
import { condition, eventsOf, getServer, SERVERS } from '../support/servers-api.js';
import { userPrincipal } from '../support/principals.js';

const POLICIES = '/api/svc/v1/policies';
const EDITOR_TOKEN = 'policy-editor-token-0123456789';
const EDITOR = userPrincipal('ed@example.com', 'editor', 'Ed');

let cp: TestControlPlane;

function policy(name: string, action: string, rules: { expression: string; message: string }[], match?: Record<string, unknown>): Record<string, unknown> {
  return { type: 'mcp-policy/admission', name, description: `${action} policy`, rules, action, ...(match ? { match } : {}) };
}

const onOurDomains = {
  expression: "object.url.startsWith('https://') && url(object.url).getHostname().endsWith('.acme.example')",
  message: 'Servers must be on *.acme.example over https',
};
const ownerTag = { expression: 'has(object.tags.owner)', message: 'Every server needs an owner tag' };

async function put(manifest: Record<string, unknown>, extra: { dryRun?: boolean; token?: string } = {}) {
  return cp.api(SERVERS, { method: 'PUT', body: { manifest, ...(extra.dryRun ? { dryRun: true } : {}) }, ...(extra.token ? { token: extra.token } : {}) });
}

async function remove(name: string) {
  const res = await cp.api(`${POLICIES}/${name}`, { method: 'DELETE' });
  expect(res.status).toBe(200);
}

beforeAll(async () => {
  cp = await startTestControlPlane({ authenticators: [new StaticTokenAuthenticator(EDITOR_TOKEN, EDITOR)] });
});

afterAll(async () => {
  await cp?.dispose();
});

test('policies are for tenant admins only: an editor is refused (403) writing, reading and listing them', async () => {
  const res = await put(policy('editor-policy', 'deny', [ownerTag]), { token: EDITOR_TOKEN });
  expect(res.status).toBe(403);
  expect(res.json.error.message).toMatch(/admission policies .* tenant admins only/);
  expect((await cp.api(POLICIES, { token: EDITOR_TOKEN })).status).toBe(403);
  expect((await cp.api(`${POLICIES}/editor-policy`, { token: EDITOR_TOKEN })).status).toBe(403);
  expect((await cp.api(POLICIES)).json.data).toEqual([]);
});

test('a rule that does not compile is a 400 naming /manifest/rules/N/expression and the parse error; nothing is stored', async () => {
  const res = await put(policy('broken', 'deny', [ownerTag, { expression: "object.url.startsWith('https://') &&", message: 'x' }, { expression: 'object.name + 1', message: 'y' }]));
  expect(res.status).toBe(400);
  expect(res.json.error.code).toBe('InvalidInput');
  const details = res.json.error.details as { path: string; message: string }[];
  expect(details.map((d) => d.path)).toEqual(['/manifest/rules/1/expression', '/manifest/rules/2/expression']);
  expect(details[0]!.message).toMatch(/not a valid CEL rule: .*(Unexpected|Expected)/);
  expect(details[1]!.message).toMatch(/not a valid CEL rule/);
  // The schema's own checks: an unknown action, a type that is no server kind.
  const bad = await put({ ...policy('broken', 'reject', [ownerTag]), match: { types: ['mcp-server/nope'] } });
  expect(bad.status).toBe(400);
  expect((bad.json.error.details as { path: string }[]).map((d) => d.path)).toEqual(['/manifest/action', '/manifest/match/types/0']);
  expect((await cp.api(`${POLICIES}/broken`)).status).toBe(404);
});

test('deny: a server that breaks a rule is a 400 PolicyViolation naming policy, rule and message (dryRun too); one that keeps them is stored', async () => {
  const created = await put(policy('upstreams-on-our-domains', 'deny', [onOurDomains, ownerTag], { types: ['mcp-server/remote', 'mcp-server/openapi'] }));
  expect(created.status).toBe(200);
  expect(created.json.action).toBe('CREATE');
  expect(created.json.data).toMatchObject({ name: 'upstreams-on-our-domains', type: 'mcp-policy/admission', generation: 1 });

  const refused = await put(remoteManifest({ name: 'outsider', url: 'http://127.0.0.1:9/mcp' }));
  expect(refused.status).toBe(400);
  expect(refused.json.error.code).toBe('PolicyViolation');
  expect(refused.json.error.details).toEqual([
    { path: '', message: 'policy "upstreams-on-our-domains", rule 0: Servers must be on *.acme.example over https' },
    { path: '', message: 'policy "upstreams-on-our-domains", rule 1: Every server needs an owner tag' },
  ]);
  expect((await cp.api(`${SERVERS}/name/outsider`)).status).toBe(404);
  // A dryRun is refused the same way: it answers what the write would do.
  const dry = await put(remoteManifest({ name: 'outsider', url: 'https://mcp.acme.example/mcp' }), { dryRun: true });
  expect(dry.status).toBe(400);
  expect(dry.json.error.details).toEqual([{ path: '', message: 'policy "upstreams-on-our-domains", rule 1: Every server needs an owner tag' }]);

  const ok = await put(remoteManifest({ name: 'insider', url: 'https://mcp.acme.example/mcp', tags: { owner: 'platform' } }));
  expect(ok.status).toBe(200);
  expect(ok.json.admission).toBeUndefined();
  // Another kind is not matched.
  const virtual = await put({ type: 'mcp-server/virtual', name: 'bundle', description: 'b', servers: [{ name: 'insider' }], collaborators: [] });
  expect(virtual.status).toBe(200);
  await remove('upstreams-on-our-domains');
});

test('warn: accepted, with warnings and admission in the answer, a Warning header, and a PolicyWarning event; dryRun shows the verdicts', async () => {
  expect((await put(policy('owner-tag', 'warn', [ownerTag]))).status).toBe(200);
  const dry = await put(remoteManifest({ name: 'warned' }), { dryRun: true });
  expect(dry.status).toBe(200);
  expect(dry.json.dryRun).toBe(true);
  expect(dry.json.admission).toEqual([{ policy: 'owner-tag', action: 'warn', rule: 0, message: 'Every server needs an owner tag' }]);
  expect(dry.json.warnings).toEqual(['policy "owner-tag", rule 0: Every server needs an owner tag']);
  expect((await cp.api(`${SERVERS}/name/warned`)).status).toBe(404);

  const res = await put(remoteManifest({ name: 'warned' }));
  expect(res.status).toBe(200);
  expect(res.headers.get('warning')).toBe('299 - "policy \\"owner-tag\\", rule 0: Every server needs an owner tag"');
  expect(res.json.warnings).toEqual(['policy "owner-tag", rule 0: Every server needs an owner tag']);
  const events = await eventsOf(cp, res.json.data.id);
  expect(events).toContainEqual(expect.objectContaining({ type: 'Warning', reason: 'PolicyWarning', message: expect.stringContaining('policy "owner-tag", rule 0') }));
  await remove('owner-tag');
});

test('audit: accepted without a warning, and a PolicyAudit event recorded; match by account', async () => {
  expect((await put(policy('audit-owner', 'audit', [ownerTag], { accounts: ['default'] }))).status).toBe(200);
  expect((await put(policy('other-account', 'deny', [{ expression: 'false', message: 'never here' }], { accounts: ['elsewhere'] }))).status).toBe(200);
  const res = await put(remoteManifest({ name: 'audited' }));
  expect(res.status).toBe(200);
  expect(res.headers.get('warning')).toBeNull();
  expect(res.json.warnings).toBeUndefined();
  expect(res.json.admission).toEqual([{ policy: 'audit-owner', action: 'audit', rule: 0, message: 'Every server needs an owner tag' }]);
  const events = await eventsOf(cp, res.json.data.id);
  expect(events).toContainEqual(expect.objectContaining({ type: 'Warning', reason: 'PolicyAudit', message: expect.stringContaining('policy "audit-owner", rule 0') }));
  await remove('audit-owner');
  await remove('other-account');
});

test('a policy that would deny an existing server audits it: PolicyCompliant=False, the metric, the summary; the server is not touched', async () => {
  const stored = await put(remoteManifest({ name: 'legacy', url: 'http://127.0.0.1:9/mcp' }));
  expect(stored.status).toBe(200);
  const before = await getServer(cp, 'legacy');
  expect((await put(policy('tls-only', 'deny', [{ expression: "object.url.startsWith('https://')", message: 'Use https' }], { types: ['mcp-server/remote'] }))).status).toBe(200);

  const audited = await waitFor(async () => {
    const s = await getServer(cp, 'legacy');
    const c = condition(s, 'PolicyCompliant');
    return c?.status === 'False' ? { s, c } : undefined;
  }, { what: 'legacy PolicyCompliant=False' });
  expect(audited.c).toMatchObject({ reason: 'PolicyViolation', message: 'Breaks policy "tls-only", rule 0: Use https.' });
  // Nothing of the server changed: its spec, generation and source are what they were.
  expect(audited.s.generation).toBe(before.generation);
  expect((audited.s as unknown as { manifest: unknown }).manifest).toEqual((before as unknown as { manifest: unknown }).manifest);
  // A compliant server of the same kind says so.
  const compliant = await waitFor(async () => condition(await getServer(cp, 'insider'), 'PolicyCompliant'));
  expect(compliant).toMatchObject({ status: 'True', reason: 'PolicyCompliant' });

  const summary = await waitFor(async () => {
    const p = (await cp.api(`${POLICIES}/tls-only`)).json.data;
    return p.status.audit?.observedGeneration === 1 ? p.status.audit : undefined;
  });
  // Every remote server on http breaks it (the ones stored by the tests before, and legacy); insider keeps it.
  expect(summary).toMatchObject({ matched: 4, violating: 3 });
  expect(summary.violations.map((v: { server: string }) => v.server).sort()).toEqual(['audited', 'legacy', 'warned']);
  expect(summary.violations[0]).toMatchObject({ rule: 0, message: 'Use https' });
  const metrics = (await cp.api('/metrics')).text;
  expect(metrics).toMatch(/mcp_cp_policy_violations\{policy="tls-only"\} 3/);
  const list = (await cp.api(POLICIES)).json;
  expect(list.data.map((p: { name: string }) => p.name)).toEqual(['tls-only']);
  expect(list.pagination.total).toBe(1);
  // Policies are no servers: the server list and lookups by id do not show them.
  const servers = (await cp.api(`${SERVERS}?limit=1000`)).json.data as { name: string }[];
  expect(servers.map((s) => s.name)).not.toContain('tls-only');
  expect((await cp.api(`${SERVERS}/${list.data[0].id}`)).status).toBe(404);

  // Deleting the policy takes the condition away again.
  await remove('tls-only');
  await waitFor(async () => condition(await getServer(cp, 'legacy'), 'PolicyCompliant') === undefined, { what: 'PolicyCompliant removed' });
  expect((await cp.api('/metrics')).text).not.toMatch(/policy="tls-only"/);
});
