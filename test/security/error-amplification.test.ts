// A body full of unknown fields must not buy a large answer or much work: a caller who may not write is
// refused before the body is validated, and a writer's 400 reports the first errors and a count.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MAX_REPORTED_ERRORS } from '../../src/manifest/index.js';
import { remoteManifest, startTestControlPlane, type TestControlPlane } from '../support/control-plane.js';
import { writeTokensFile } from './support.js';

const API = '/api/svc/v1/mcp-servers';
const GAIA = '/api/mcp/servers';
const VIEWER = 'viewer-token-amplification-0123456789';
const EDITOR = 'editor-token-amplification-0123456789';
const UNKNOWN_FIELDS = 90_000;

function manyFields(prefix: string): Record<string, number> {
  const fields: Record<string, number> = {};
  for (let i = 0; i < UNKNOWN_FIELDS; i++) fields[`${prefix}${i}`] = 1;
  return fields;
}

describe('error amplification', () => {
  let cp: TestControlPlane;
  let dir: string;
  const manifestBody = JSON.stringify({ manifest: { ...remoteManifest({ name: 'amplified' }), ...manyFields('f') } });
  const envelopeBody = JSON.stringify({ manifest: remoteManifest({ name: 'amplified' }), ...manyFields('e') });
  const gaiaBody = JSON.stringify({ projectId: 'p', name: 'Amplified', transportType: 'http', url: 'http://127.0.0.1:9/mcp', ...manyFields('g') });

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'mcp-amplification-'));
    writeTokensFile(join(dir, 'tokens.yaml'), [
      { token: VIEWER, subject: 'user:vic@example.com', role: 'viewer', accounts: ['p'] },
      { token: EDITOR, subject: 'user:eve@example.com', role: 'editor', accounts: ['p'] },
    ]);
    cp = await startTestControlPlane({ args: ['--tokens-file', join(dir, 'tokens.yaml'), '--resync-interval', '0'] });
    expect(manifestBody.length).toBeLessThan(1024 * 1024);
    expect(envelopeBody.length).toBeLessThan(1024 * 1024);
  });
  afterAll(async () => {
    await cp.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  const send = (path: string, method: string, token: string, rawBody: string) =>
    cp.api(path, { method, token, rawBody, headers: { 'content-type': 'application/json' } });

  it.each([
    ['PUT, unknown manifest fields', API, 'PUT', () => manifestBody],
    ['PUT, unknown envelope fields', API, 'PUT', () => envelopeBody],
    ['GAIA POST', GAIA, 'POST', () => gaiaBody],
  ])("refuses a viewer's body before validating it (%s)", async (_what, path, method, body) => {
    const res = await send(path, method, VIEWER, body());
    expect(res.status).toBe(403);
    expect(res.text).toContain('viewer');
    expect(res.text.length).toBeLessThan(1000);
  });

  it.each([
    ['unknown manifest fields', () => manifestBody, '/manifest/f0', '/manifest'],
    ['unknown envelope fields', () => envelopeBody, '/e0', ''],
  ])("answers an editor's PUT with the first errors and a count (%s)", async (_what, body, first, countedAt) => {
    const res = await send(API, 'PUT', EDITOR, body());
    expect(res.status).toBe(400);
    const details = res.json.error.details as { path: string; message: string }[];
    expect(details.length).toBe(MAX_REPORTED_ERRORS + 1);
    expect(details.map((d) => d.path)).toContain(first);
    const last = details[details.length - 1]!;
    expect(last.path).toBe(countedAt);
    expect(last.message).toMatch(/^(about )?[\d,]+ more errors not shown: only the first 50 are reported/);
    const counted = Number(last.message.replace(/^about /, '').split(' ')[0]!.replace(/,/g, ''));
    expect(counted + MAX_REPORTED_ERRORS).toBeGreaterThanOrEqual(UNKNOWN_FIELDS);
    expect(res.json.error.message).toMatch(/\(and [\d,]+ more\)$/);
    expect(res.text.length).toBeLessThan(64 * 1024);
    expect((await cp.store.get('default:mcp-server:amplified'))).toBeUndefined();
  });

  it("answers an editor's GAIA POST with the first errors and a count", async () => {
    const res = await send(GAIA, 'POST', EDITOR, gaiaBody);
    expect(res.status).toBe(400);
    expect(res.json.errors.length).toBe(MAX_REPORTED_ERRORS + 1);
    expect(res.json.errors[MAX_REPORTED_ERRORS].message).toContain('more errors not shown');
    expect(res.text.length).toBeLessThan(64 * 1024);
  });
});
