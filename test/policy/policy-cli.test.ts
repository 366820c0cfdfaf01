// mcpctl and admission policies: apply -f of a policy file, get policies (counts from the audit),
// describe policy NAME (its rules, matched count, each violation), and the refusal an apply of a server
// meets (the rule's message).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runApply } from '../../src/cli/apply.js';
import { runDescribe } from '../../src/cli/describe.js';
import { runGet } from '../../src/cli/get.js';
import { remoteYaml, workspace, type Workspace } from '../cli/cli-support.js';
import { ADMIN_TOKEN, remoteManifest, startTestControlPlane, waitFor, type TestControlPlane } from '../support/control-plane.js';
import { SERVERS } from '../support/servers-api.js';

let cp: TestControlPlane;
let ws: Workspace;
let env: Record<string, string>;

beforeAll(async () => {
  cp = await startTestControlPlane();
  ws = workspace();
  env = { MCPCTL_SERVER: cp.url, MCPCTL_TOKEN: ADMIN_TOKEN };
});

afterAll(async () => {
  ws?.dispose();
  await cp?.dispose();
});

test('apply -f a policy, get policies, describe policy NAME with the violations of stored servers', async () => {
  expect((await cp.api(SERVERS, { method: 'PUT', body: { manifest: remoteManifest({ name: 'plain-http', url: 'http://127.0.0.1:9/mcp' }) } })).status).toBe(200);
  expect((await cp.api(SERVERS, { method: 'PUT', body: { manifest: remoteManifest({ name: 'on-tls', url: 'https://mcp.example.test/mcp' }) } })).status).toBe(200);
  ws.write('policy.yaml', [
    'type: mcp-policy/admission',
    'name: tls-only',
    'description: Remote servers over TLS',
    'match: { types: [mcp-server/remote] }',
    'rules:',
    "  - expression: \"object.url.startsWith('https://')\"",
    '    message: Use https',
    'action: deny',
    '',
  ].join('\n'));
  const applied = await ws.run(runApply, ['-f', 'policy.yaml'], env);
  expect(applied.stderr).toBe('');
  expect(applied.code).toBe(0);
  expect(applied.stdout).toContain('tls-only');

  await waitFor(async () => (await cp.api('/api/svc/v1/policies/tls-only')).json.data?.status.audit?.observedGeneration === 1, { what: 'the audit' });
  const got = await ws.run(runGet, ['policies'], env);
  expect(got.code).toBe(0);
  expect(got.stdout).toMatch(/^NAME +ACTION +RULES +MATCHED +VIOLATING +SOURCE +AGE$/m);
  expect(got.stdout).toMatch(/^tls-only +deny +1 +2 +1 +api +/m);

  const described = await ws.run(runDescribe, ['policy', 'tls-only'], env);
  expect(described.code).toBe(0);
  expect(described.stdout).toMatch(/^Match: +mcp-server\/remote; every account$/m);
  expect(described.stdout).toMatch(/^Matched: +2 servers$/m);
  expect(described.stdout).toMatch(/^Violating: +1$/m);
  expect(described.stdout).toMatch(/^ {2}plain-http +0 +Use https$/m);
  expect(described.stdout).toMatch(/^ {2}0 +object\.url\.startsWith\('https:\/\/'\) +Use https$/m);

  const missing = await ws.run(runDescribe, ['policy', 'nope'], env);
  expect(missing.code).toBe(1);
  expect(missing.stderr).toContain('admission policy "nope" not found');

  // A server file the policy refuses: apply says which policy and rule.
  ws.write('server.yaml', remoteYaml('refused-by-policy'));
  const refused = await ws.run(runApply, ['-f', 'server.yaml'], env);
  expect(refused.code).toBe(1);
  expect(refused.stderr).toContain('policy "tls-only", rule 0: Use https');

  // As a warning, the apply goes through and says so.
  ws.write('policy.yaml', readFileSync(join(ws.dir, 'policy.yaml'), 'utf8').replace('action: deny', 'action: warn'));
  expect((await ws.run(runApply, ['-f', 'policy.yaml'], env)).code).toBe(0);
  const warned = await ws.run(runApply, ['-f', 'server.yaml'], env);
  expect(warned.code).toBe(0);
  expect(warned.stdout + warned.stderr).toContain('warning: refused-by-policy: policy "tls-only", rule 0: Use https');
});
