// Admission policies hold for every way in: a watched file (the file that breaks a rule gets a file error
// naming the file, line, policy and rule, keeps what it declared, and the rest of the batch applies), a
// policy from a file, the GAIA-style API, a rollback; and no secret reaches a verdict, event or answer.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { remoteYaml } from '../cli/cli-support.js';
import { gaia } from '../gaia/support.js';
import { remoteManifest, startTestControlPlane, waitFor, type TestControlPlane } from '../support/control-plane.js';
import { condition, getServer, SERVERS } from '../support/servers-api.js';

const POLICIES = '/api/svc/v1/policies';
let cp: TestControlPlane;
let dir: string;

interface FileStatus {
  path: string;
  errors: { pointer: string; line?: number; message: string }[];
  resources: unknown[];
}

async function files(): Promise<FileStatus[]> {
  const res = await cp.api('/api/svc/v1/sources');
  return (res.json.data[0]?.files ?? []) as FileStatus[];
}

async function put(manifest: Record<string, unknown>) {
  return cp.api(SERVERS, { method: 'PUT', body: { manifest } });
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'mcp-cp-policy-files-'));
  cp = await startTestControlPlane({ manifests: [dir] });
});

afterAll(async () => {
  await cp?.dispose();
  rmSync(dir, { recursive: true, force: true });
});

test('a policy from a file: the file that breaks it errors (file, line, policy, rule), keeps its server, and the rest of the batch applies', async () => {
  writeFileSync(join(dir, 'kept.yaml'), remoteYaml('kept', { description: 'first version' }));
  await waitFor(async () => (await cp.api(`${SERVERS}/name/kept`)).status === 200, { what: 'kept stored' });
  writeFileSync(
    join(dir, 'policy.yaml'),
    [
      'type: mcp-policy/admission',
      'name: owner-required',
      'description: Every server needs an owner',
      'rules:',
      '  - expression: "has(object.tags.owner)"',
      '    message: Every server needs an owner tag',
      'action: deny',
      '',
    ].join('\n'),
  );
  const created = await waitFor(async () => {
    const res = await cp.api(`${POLICIES}/owner-required`);
    return res.status === 200 ? res.json.data : undefined;
  }, { what: 'the policy from the file' });
  expect(created.source).toMatchObject({ kind: 'file', path: 'policy.yaml' });
  // The server stored before is audited, not changed.
  await waitFor(async () => condition(await getServer(cp, 'kept'), 'PolicyCompliant')?.status === 'False', { what: 'kept audited' });

  // One batch: a file that breaks the rule (a change of kept, after a first document), and one that keeps it.
  writeFileSync(join(dir, 'kept.yaml'), remoteYaml('kept', { description: 'second version' }));
  writeFileSync(join(dir, 'good.yaml'), remoteYaml('good', { extra: 'tags: { owner: platform }' }));
  const refused = await waitFor(async () => {
    const all = await files();
    const kept = all.find((f) => f.path === 'kept.yaml');
    return kept && kept.errors.length > 0 && all.some((f) => f.path === 'good.yaml') ? kept : undefined;
  }, { what: 'kept.yaml refused' });
  expect(refused.errors).toEqual([{ pointer: '', line: 1, col: 1, message: 'policy "owner-required", rule 0: Every server needs an owner tag' }]);
  await waitFor(async () => (await cp.api(`${SERVERS}/name/good`)).status === 200, { what: 'good applied' });
  // Nothing pruned: kept is what it was.
  const kept = (await cp.api(`${SERVERS}/name/kept`)).json.data;
  expect(kept.manifest.description).toBe('first version');

  // The file's policy changes to warn: the file applies (its error clears), with the warning as an event.
  writeFileSync(join(dir, 'policy.yaml'), [
    'type: mcp-policy/admission',
    'name: owner-required',
    'rules: [{ expression: "has(object.tags.owner)", message: Every server needs an owner tag }]',
    'action: warn',
    '',
  ].join('\n'));
  await waitFor(async () => (await cp.api(`${SERVERS}/name/kept`)).json.data.manifest.description === 'second version', { what: 'kept applied under warn' });
  const events = (await cp.api(`${SERVERS}/name/kept/events`)).json.data as { reason: string }[];
  expect(events.map((e) => e.reason)).toContain('PolicyWarning');

  // The file stops declaring the policy: it is pruned like a server.
  rmSync(join(dir, 'policy.yaml'));
  await waitFor(async () => (await cp.api(`${POLICIES}/owner-required`)).status === 404, { what: 'the policy pruned' });
});

test('the GAIA-style API: deny refuses a create, warn answers warnings and a Warning header', async () => {
  expect((await put({ type: 'mcp-policy/admission', name: 'gaia-https', rules: [{ expression: "object.url.startsWith('https://')", message: 'Use https' }], match: { accounts: ['proj-g'] } })).status).toBe(200);
  const refused = await gaia(cp, '', { method: 'POST', body: { projectId: 'proj-g', name: 'Gaia Plain', transportType: 'http', url: 'http://127.0.0.1:9/mcp' } });
  expect(refused.status).toBe(400);
  expect(refused.text).toContain('policy \\"gaia-https\\", rule 0: Use https');
  expect((await put({ type: 'mcp-policy/admission', name: 'gaia-https', rules: [{ expression: "object.url.startsWith('https://')", message: 'Use https' }], match: { accounts: ['proj-g'] }, action: 'warn' })).status).toBe(200);
  const warned = await gaia(cp, '', { method: 'POST', body: { projectId: 'proj-g', name: 'Gaia Plain', transportType: 'http', url: 'http://127.0.0.1:9/mcp' } });
  expect(warned.status).toBe(201);
  expect(warned.json.warnings).toEqual(['policy "gaia-https", rule 0: Use https']);
  expect(warned.headers.get('warning')).toContain('rule 0: Use https');
  expect((await cp.api(`${POLICIES}/gaia-https`, { method: 'DELETE' })).status).toBe(200);
});

test('a rollback goes through admission: back to a generation a policy forbids now is a 400 PolicyViolation', async () => {
  expect((await put(remoteManifest({ name: 'rolled', url: 'http://127.0.0.1:9/mcp' }))).status).toBe(200);
  expect((await put(remoteManifest({ name: 'rolled', url: 'https://mcp.example.test/mcp' }))).status).toBe(200);
  expect((await put({ type: 'mcp-policy/admission', name: 'rollback-https', rules: [{ expression: "object.url.startsWith('https://') && request.source == 'rollback'", message: 'Use https' }] })).status).toBe(200);
  const refused = await cp.api(`${SERVERS}/name/rolled/rollback`, { method: 'POST', body: { toGeneration: 1 } });
  expect(refused.status).toBe(400);
  expect(refused.json.error).toMatchObject({ code: 'PolicyViolation', details: [{ path: '', message: 'policy "rollback-https", rule 0: Use https' }] });
  const dry = await cp.api(`${SERVERS}/name/rolled/rollback`, { method: 'POST', body: { toGeneration: 1, dryRun: true } });
  expect(dry.status).toBe(400);
  expect((await getServer(cp, 'rolled')).generation).toBe(2);
  expect((await cp.api(`${POLICIES}/rollback-https`, { method: 'DELETE' })).status).toBe(200);
});

test('canary: no secret value in verdicts, warnings, events, conditions or the policy summary', async () => {
  const SECRET = 'Bearer s3cr3t-canary-7f3a9c';
  const rules = [
    { expression: `object.auth_data.headers.Authorization == '${'x'}'`, message: 'Compare the header' },
    { expression: 'int(object.auth_data.headers.Authorization) > 0', message: 'A number' },
    { expression: "object.auth_data.headers.Authorization.startsWith('Bearer s3')", message: 'Guess the secret' },
  ];
  expect((await put({ type: 'mcp-policy/admission', name: 'canary-warn', rules, action: 'warn' })).status).toBe(200);
  expect((await put({ type: 'mcp-policy/admission', name: 'canary-audit', rules, action: 'audit' })).status).toBe(200);
  const res = await put(remoteManifest({ name: 'canary', auth_data: { type: 'header', headers: { Authorization: SECRET } } }));
  expect(res.status).toBe(200);
  // The rule that guessed the secret saw the mask, so it is broken, like the others.
  expect((res.json.admission as unknown[]).length).toBe(6);
  const texts = [res.text, JSON.stringify([...res.headers])];
  await waitFor(async () => condition(await getServer(cp, 'canary'), 'PolicyCompliant')?.status === 'False', { what: 'canary audited' });
  texts.push((await cp.api(`${SERVERS}/name/canary`)).text, (await cp.api(`${SERVERS}/name/canary/events`)).text);
  texts.push((await cp.api(POLICIES)).text, (await cp.api('/api/svc/v1/events')).text, (await cp.api('/metrics')).text);
  // A deny names the same rules, in a 400.
  expect((await put({ type: 'mcp-policy/admission', name: 'canary-deny', rules })).status).toBe(200);
  const denied = await put(remoteManifest({ name: 'canary-2', auth_data: { type: 'header', headers: { Authorization: SECRET } } }));
  expect(denied.status).toBe(400);
  texts.push(denied.text);
  for (const text of texts) {
    expect(text).not.toContain('s3cr3t');
  }
  expect(denied.text).toContain('policy \\"canary-deny\\", rule 2: Guess the secret');
  for (const name of ['canary-warn', 'canary-audit', 'canary-deny']) expect((await cp.api(`${POLICIES}/${name}`, { method: 'DELETE' })).status).toBe(200);
});
