// A secret field whose value is only a reference (${env:NAME}, ${file:PATH}) holds no secret: answers,
// diffs and events show it as written, so an operator sees which variable a server reads. Values stay
// masked, a non-admin still cannot introduce a reference, nor point a kept one at a new destination.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { remoteManifest, startTestControlPlane, type TestControlPlane } from '../support/control-plane.js';
import { writeTokensFile } from './support.js';

const API = '/api/svc/v1/mcp-servers';
const CANARY = 'canary-reference-7d2f';
const EDITOR = 'editor-token-ref-0123456789abcdef';

let cp: TestControlPlane;
let dir: string;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'mcp-refs-'));
  writeTokensFile(join(dir, 'tokens.yaml'), [{ token: EDITOR, subject: 'user:eve@example.com', role: 'editor' }]);
  cp = await startTestControlPlane({ args: ['--tokens-file', join(dir, 'tokens.yaml'), '--resync-interval', '0'] });
});
afterAll(async () => {
  await cp.dispose();
  rmSync(dir, { recursive: true, force: true });
});

const manifest = (headers: Record<string, string>, extra: Record<string, unknown> = {}) =>
  remoteManifest({
    name: 'refs',
    additional_headers: headers,
    collaborators: [{ subject: 'user:eve@example.com', role_id: 'mcp-server-manager' }],
    ...extra,
  });

it('shows references as written in answers, diffs and events; values stay masked', async () => {
  const first = await cp.api(API, {
    method: 'PUT',
    body: { manifest: manifest({ Authorization: 'Bearer ${env:GITHUB_TOKEN}', 'X-Key': CANARY, 'X-File': '${file:team/key}' }) },
  });
  expect(first.status).toBe(200);
  expect(first.json.data.manifest.additional_headers).toEqual({ Authorization: 'Bearer ${env:GITHUB_TOKEN}', 'X-Key': '********', 'X-File': '${file:team/key}' });

  const changed = await cp.api(API, {
    method: 'PUT',
    body: { manifest: manifest({ Authorization: 'Bearer ${env:GH_TOKEN_2}', 'X-Key': `${CANARY}-2`, 'X-File': '${file:team/key}' }) },
  });
  expect(changed.status).toBe(200);
  expect(changed.json.diff).toEqual(
    expect.arrayContaining([
      { op: 'replace', path: '/additional_headers/Authorization', from: 'Bearer ${env:GITHUB_TOKEN}', to: 'Bearer ${env:GH_TOKEN_2}' },
      { op: 'replace', path: '/additional_headers/X-Key', secret: true },
    ]),
  );
  expect(changed.json.existingManifest.additional_headers.Authorization).toBe('Bearer ${env:GITHUB_TOKEN}');

  const got = await cp.api(`${API}/name/refs`);
  expect(got.json.data.manifest.additional_headers.Authorization).toBe('Bearer ${env:GH_TOKEN_2}');
  const events = await cp.api(`${API}/name/refs/events`);
  const list = await cp.api(API);
  for (const text of [first.text, changed.text, got.text, events.text, list.text]) expect(text).not.toContain(CANARY);
});

it('a non-admin cannot introduce a reference, nor send a kept one to a new url', async () => {
  expect((await cp.api(API, { method: 'PUT', body: { manifest: manifest({ Authorization: 'Bearer ${env:GITHUB_TOKEN}' }) } })).status).toBe(200);
  const introduced = await cp.api(API, { method: 'PUT', token: EDITOR, body: { manifest: manifest({ Authorization: 'Bearer ${env:GITHUB_TOKEN}', 'X-New': '${env:HOME}' }) } });
  expect(introduced.status).toBe(403);
  expect(introduced.json.error.message).toContain('/additional_headers/X-New');

  // What the editor reads, sent back with a new url: the variable would be read and sent there.
  const got = await cp.api(`${API}/name/refs`, { token: EDITOR });
  expect(got.json.data.manifest.additional_headers.Authorization).toBe('Bearer ${env:GITHUB_TOKEN}');
  const moved = await cp.api(API, { method: 'PUT', token: EDITOR, body: { manifest: { ...got.json.data.manifest, url: 'http://127.0.0.1:10/evil' } } });
  expect(moved.status).toBe(403);
  expect(moved.json.error.message).toContain('/additional_headers/Authorization');

  // Kept where it was, an edit is fine.
  const edited = await cp.api(API, { method: 'PUT', token: EDITOR, body: { manifest: { ...got.json.data.manifest, description: 'edited by eve' } } });
  expect(edited.status).toBe(200);
});
