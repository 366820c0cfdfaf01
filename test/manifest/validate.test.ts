import { validateApplyRequest, validateManifest, prefixErrors } from '../../src/manifest/validate.js';
import type { FieldError } from '../../src/domain/errors.js';
import { CANARY, PEM, fullManifest, minimalManifest, oauth2Auth, type Json } from './manifests.js';

function errorsOf(value: unknown): FieldError[] {
  const result = validateManifest(value);
  if (result.ok) throw new Error(`expected errors, the manifest validated: ${JSON.stringify(value)}`);
  return result.errors;
}

function withMinimal(change: (m: Json) => void): Json {
  const m = minimalManifest();
  change(m);
  return m;
}

describe('validateManifest: valid manifests', () => {
  it.each([
    ['minimal', minimalManifest()],
    ['full, header auth', fullManifest()],
    ['full, oauth2 auth', { ...fullManifest(), auth_data: oauth2Auth() }],
    ['oauth2 authorization_code without client secret', { ...minimalManifest(), auth_data: { type: 'oauth2', grant_type: 'authorization_code', token_url: 'http://auth.local/token' } }],
    ['passthrough auth', { ...minimalManifest(), auth_data: { type: 'passthrough' } }],
    ['empty collaborators', { ...minimalManifest(), collaborators: [] }],
    ['63-character name', { ...minimalManifest(), name: 'a'.repeat(63) }],
    ['secret references', { ...minimalManifest(), additional_headers: { 'X-Key': '${env:KEY}', 'X-Other': '${file:/run/secrets/other}' } }],
  ])('%s passes, and the result is the input', (_name, manifest) => {
    const result = validateManifest(manifest);
    expect(result).toEqual({ ok: true, manifest });
  });
});

describe('validateManifest: one invalid case per rule', () => {
  const tooManyTags = Object.fromEntries(Array.from({ length: 33 }, (_, i) => [`k${i}`, 'v']));
  it.each<[string, (m: Json) => void, string, string]>([
    ['wrong type', (m) => (m.type = 'mcp-server/local'), '/type', 'must be one of the supported manifest types: mcp-server/remote, mcp-server/stdio'],
    ['missing type', (m) => delete m.type, '/type', 'is required; supported types: mcp-server/remote'],
    ['uppercase name', (m) => (m.name = 'My_Server'), '/name', `must be a lowercase DNS label (a-z, 0-9, '-'; 1-63 chars, starting and ending with a letter or digit), got "My_Server"`],
    ['name too long', (m) => (m.name = 'a'.repeat(64)), '/name', 'must be a lowercase DNS label'],
    ['name with a leading dash', (m) => (m.name = '-search'), '/name', 'got "-search"'],
    ['name not a string', (m) => (m.name = 42), '/name', 'must be a string, got an integer'],
    ['non-http url', (m) => (m.url = 'ftp://files.example.com/mcp'), '/url', 'must be an absolute http:// or https:// URL'],
    ['relative url', (m) => (m.url = '/mcp'), '/url', 'must be an absolute http:// or https:// URL'],
    // RFC 3986 allows these; Node's URL parser (used by discovery and the gateway) does not. Found by the fuzz test.
    ['url with a port over 65535', (m) => (m.url = 'http://127.0.0.1:99999/mcp'), '/url', 'must be an absolute http:// or https:// URL'],
    ['url with an impossible IPv4 host', (m) => (m.url = 'http://999.1.1.1/mcp'), '/url', 'must be an absolute http:// or https:// URL'],
    ['url with credentials', (m) => (m.url = 'https://bob:hunter2@mcp.example.com/'), '/url', 'without user:password@ credentials'],
    ['url too long', (m) => (m.url = `https://mcp.example.com/${'a'.repeat(2048)}`), '/url', 'at most 2048 characters'],
    ['missing name', (m) => delete m.name, '/name', 'is required'],
    ['missing description', (m) => delete m.description, '/description', 'is required'],
    ['missing url', (m) => delete m.url, '/url', 'is required'],
    ['missing collaborators', (m) => delete m.collaborators, '/collaborators', 'is required'],
    ['empty description', (m) => (m.description = ''), '/description', 'must be a non-empty text of at most 1000 characters'],
    ['too-long description', (m) => (m.description = 'd'.repeat(1001)), '/description', '(1001 characters)'],
    ['unknown top-level field', (m) => (m.foo = 1), '/foo', 'unknown field "foo"; allowed fields here: type, name, description, url, transport, connection_type, timeouts, upstream_proxy, collaborators, tls_settings, tool_settings, auth_data, additional_headers, ownedBy, tags'],
    ['unknown nested field', (m) => (m.tls_settings = { reject_unauthorized: true, verify: false }), '/tls_settings/verify', 'unknown field "verify"; allowed fields here: reject_unauthorized, ca_cert'],
    ['unknown field in tool annotations', (m) => (m.tool_settings = [{ name: 't', annotations: { hint: true } }]), '/tool_settings/0/annotations/hint', 'allowed fields here: title, readOnlyHint'],
    ['collaborators not an array', (m) => (m.collaborators = {}), '/collaborators', 'must be an array, got an object'],
    ['bad collaborator subject', (m) => (m.collaborators = [{ subject: 'alice', role_id: 'mcp-server-user' }]), '/collaborators/0/subject', 'where kind is user, team, serviceaccount or virtualaccount'],
    ['unknown collaborator kind', (m) => (m.collaborators = [{ subject: 'group:x', role_id: 'mcp-server-user' }]), '/collaborators/0/subject', 'got "group:x"'],
    ['unknown role_id', (m) => (m.collaborators = [{ subject: 'user:a', role_id: 'owner' }]), '/collaborators/0/role_id', 'must be one of mcp-server-manager, mcp-server-user, got "owner"'],
    ['collaborator without role', (m) => (m.collaborators = [{ subject: 'user:a' }]), '/collaborators/0/role_id', 'is required'],
    ['too many collaborators', (m) => (m.collaborators = Array.from({ length: 101 }, (_, i) => ({ subject: `user:u${i}`, role_id: 'mcp-server-user' }))), '/collaborators', 'must have at most 100 items, got 101'],
    ['missing reject_unauthorized', (m) => (m.tls_settings = { ca_cert: PEM }), '/tls_settings/reject_unauthorized', 'is required'],
    ['reject_unauthorized not a boolean', (m) => (m.tls_settings = { reject_unauthorized: 'no' }), '/tls_settings/reject_unauthorized', 'must be a boolean, got a string'],
    ['ca_cert not PEM', (m) => (m.tls_settings = { reject_unauthorized: true, ca_cert: 'not a cert' }), '/tls_settings/ca_cert', 'must be a PEM certificate bundle'],
    ['ca_cert too large', (m) => (m.tls_settings = { reject_unauthorized: true, ca_cert: PEM.repeat(700) }), '/tls_settings/ca_cert', 'at most 65536 characters'],
    ['duplicate tool names', (m) => (m.tool_settings = [{ name: 'search' }, { name: 'fetch' }, { name: 'search' }]), '/tool_settings/2/name', 'duplicate tool name "search" (also at /tool_settings/0)'],
    ['tool name with a space', (m) => (m.tool_settings = [{ name: 'web search' }]), '/tool_settings/0/name', 'without whitespace'],
    ['tool without a name', (m) => (m.tool_settings = [{ disabled: true }]), '/tool_settings/0/name', 'is required'],
    ['too many tool settings', (m) => (m.tool_settings = Array.from({ length: 501 }, (_, i) => ({ name: `t${i}` }))), '/tool_settings', 'must have at most 500 items, got 501'],
    ['header auth without headers', (m) => (m.auth_data = { type: 'header' }), '/auth_data/headers', 'is required'],
    ['header auth with empty headers', (m) => (m.auth_data = { type: 'header', headers: {} }), '/auth_data/headers', 'must have at least 1 entry'],
    ['bad auth_level', (m) => (m.auth_data = { type: 'header', headers: { A: 'b' }, auth_level: 'tenant' }), '/auth_data/auth_level', 'must be one of global, per_user'],
    ['client_credentials without token_url', (m) => { const a = oauth2Auth(); delete a.token_url; m.auth_data = a; }, '/auth_data/token_url', 'is required'],
    ['oauth2 with a bad grant_type', (m) => (m.auth_data = { ...oauth2Auth(), grant_type: 'password' }), '/auth_data/grant_type', 'must be one of authorization_code, client_credentials, got "password"'],
    ['oauth2 token_url not http', (m) => (m.auth_data = { ...oauth2Auth(), token_url: 'urn:token' }), '/auth_data/token_url', 'absolute http:// or https:// URL'],
    ['client_credentials without client_secret', (m) => { const a = oauth2Auth(); delete a.client_secret; m.auth_data = a; }, '/auth_data/client_secret', 'is required'],
    ['duplicate scopes', (m) => (m.auth_data = { ...oauth2Auth(), scopes: ['openid', 'docs:read', 'openid'] }), '/auth_data/scopes/2', 'duplicate item (equal to item 0)'],
    ['unknown auth type', (m) => (m.auth_data = { type: 'basic', username: 'u' }), '/auth_data/type', 'must be one of header, oauth2, passthrough, got "basic"'],
    ['auth without type', (m) => (m.auth_data = { headers: { A: 'b' } }), '/auth_data/type', 'is required (one of header, oauth2, passthrough)'],
    ['passthrough with headers', (m) => (m.auth_data = { type: 'passthrough', headers: { A: 'b' } }), '/auth_data/headers', 'unknown field "headers"; allowed fields here: type'],
    ['invalid header name', (m) => (m.additional_headers = { 'X Tenant': 'acme' }), '/additional_headers/X Tenant', 'invalid header name "X Tenant": must be an HTTP header name'],
    ['header names differing only by case', (m) => (m.auth_data = { type: 'header', headers: { Authorization: 'a', authorization: 'b' } }), '/auth_data/headers/authorization', 'duplicate header name "authorization" (also at /auth_data/headers/Authorization): header names are case-insensitive'],
    ['header value with a line break', (m) => (m.additional_headers = { 'X-Tenant': 'acme\r\nX-Evil: 1' }), '/additional_headers/X-Tenant', 'must be a header value without line breaks'],
    ['header value not a string', (m) => (m.additional_headers = { 'X-Retry': 3 }), '/additional_headers/X-Retry', 'must be a string, got an integer'],
    ['ownedBy without account', (m) => (m.ownedBy = {}), '/ownedBy/account', 'is required'],
    ['too many tags', (m) => (m.tags = tooManyTags), '/tags', 'must have at most 32 entries, got 33'],
    ['bad tag key', (m) => (m.tags = { '-team': 'x' }), '/tags/-team', 'invalid tag key "-team"'],
    ['tag value not a string', (m) => (m.tags = { team: 1 }), '/tags/team', 'must be a string, got an integer'],
    ['reserved key in a map', (m) => (m.additional_headers = JSON.parse('{"__proto__": "x"}')), '/additional_headers/__proto__', 'is not allowed (reserved in JavaScript)'],
  ])('%s', (_name, change, path, fragment) => {
    const errors = errorsOf(withMinimal(change));
    expect(errors.map((e) => e.path)).toEqual([path]);
    expect(errors[0]?.message).toContain(fragment);
  });

  it.each([
    ['a string', 'name: x', 'got a string'],
    ['an array', [minimalManifest()], 'got an array'],
    ['null', null, 'got null'],
  ])('a manifest that is %s is one error at the root', (_name, value, fragment) => {
    const errors = errorsOf(value);
    expect(errors).toHaveLength(1);
    expect(errors[0]?.path).toBe('');
    expect(errors[0]?.message).toContain(fragment);
  });
});

describe('validateManifest: reporting', () => {
  it('reports every problem at once, sorted by path', () => {
    const m = withMinimal((x) => {
      x.url = 'ftp://x';
      x.name = 'Bad';
      delete x.description;
    });
    expect(errorsOf(m).map((e) => e.path)).toEqual(['/description', '/name', '/url']);
  });

  it('sorts array indices numerically', () => {
    const tools = Array.from({ length: 12 }, (_, i) => ({ name: `t${i}` }));
    tools[2] = { name: 'bad name' } as { name: string };
    tools[10] = { name: 'bad name 2' } as { name: string };
    const errors = errorsOf({ ...minimalManifest(), tool_settings: tools });
    expect(errors.map((e) => e.path)).toEqual(['/tool_settings/2/name', '/tool_settings/10/name']);
  });

  it('reports only the errors of the auth_data branch selected by type', () => {
    const errors = errorsOf({ ...minimalManifest(), auth_data: { type: 'oauth2', headers: { A: 'b' } } });
    expect(errors.map((e) => `${e.path}: ${e.message}`)).toEqual([
      '/auth_data/grant_type: is required',
      expect.stringMatching(/^\/auth_data\/headers: unknown field "headers"; allowed fields here: type, grant_type, token_url/),
    ]);
  });

  it('reports a string breaking several rules of one schema once', () => {
    const errors = errorsOf({ ...minimalManifest(), name: `-${'A'.repeat(70)}` });
    expect(errors).toHaveLength(1);
    expect(errors[0]?.message).toContain('(71 characters)');
  });

  it('does not change its input', () => {
    const m = withMinimal((x) => (x.auth_data = { type: 'header', headers: { A: 'b' } }));
    const before = JSON.stringify(m);
    validateManifest(m);
    expect(JSON.stringify(m)).toBe(before);
  });
});

describe('validateManifest: secret values never appear in messages', () => {
  const longSecret = `${CANARY}${'x'.repeat(5000)}`;
  it.each<[string, Json]>([
    ['auth header value with a line break', { auth_data: { type: 'header', headers: { Authorization: `Bearer ${CANARY}\n` } } }],
    ['additional header value with NUL', { additional_headers: { 'X-Key': `${CANARY}\u0000` } }],
    ['header value too long', { additional_headers: { 'X-Key': longSecret.padEnd(9000, 'y') } }],
    ['client_secret too long', { auth_data: { ...oauth2Auth(), client_secret: longSecret } }],
    ['client_secret empty next to a canary header', { auth_data: { ...oauth2Auth(), client_secret: '' }, additional_headers: { 'X-Key': `${CANARY}\n` } }],
    ['credentials in the url', { url: `https://user:${CANARY}@mcp.example.com/` }],
    ['credentials in a bad url', { url: `ftp://user:${CANARY}@mcp.example.com/` }],
  ])('%s', (_name, overrides) => {
    const errors = errorsOf({ ...minimalManifest(), ...overrides });
    expect(errors.length).toBeGreaterThan(0);
    expect(JSON.stringify(errors)).not.toContain(CANARY);
  });
});

describe('validateApplyRequest', () => {
  it('fills defaults and leaves the manifest unvalidated', () => {
    const manifest = { type: 'anything' };
    expect(validateApplyRequest({ manifest })).toEqual({
      ok: true,
      request: { manifest, dryRun: false, force: false, metadata: {} },
    });
  });

  it('keeps given values', () => {
    const body = { manifest: minimalManifest(), dryRun: true, force: true, metadata: { source: 'ci' } };
    expect(validateApplyRequest(body)).toEqual({ ok: true, request: body });
  });

  const tooManyKeys = Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`k${i}`, i]));
  it.each<[string, unknown, string, string]>([
    ['body not an object', 'manifest', '', 'must be an object with a "manifest", got a string'],
    ['missing manifest', { dryRun: true }, '/manifest', 'is required'],
    ['manifest not an object', { manifest: `Bearer ${CANARY}` }, '/manifest', 'must be an object, got a string'],
    ['dryRun not a boolean', { manifest: {}, dryRun: 'yes' }, '/dryRun', 'must be a boolean, got a string'],
    ['unknown field', { manifest: {}, dry_run: true }, '/dry_run', 'unknown field "dry_run"; allowed fields here: manifest, dryRun, force, metadata'],
    ['metadata too large', { manifest: {}, metadata: tooManyKeys }, '/metadata', 'must have at most 64 entries, got 65'],
    ['empty metadata key', { manifest: {}, metadata: { '': 1 } }, '/metadata/', 'invalid metadata key ""'],
  ])('%s', (_name, body, path, fragment) => {
    const result = validateApplyRequest(body);
    if (result.ok) throw new Error('expected errors');
    expect(result.errors.map((e) => e.path)).toEqual([path]);
    expect(result.errors[0]?.message).toContain(fragment);
    expect(JSON.stringify(result.errors)).not.toContain(CANARY);
  });

  it('prefixErrors puts manifest errors under /manifest', () => {
    const manifestErrors = errorsOf({ ...minimalManifest(), name: 'Bad' });
    expect(prefixErrors(manifestErrors, '/manifest').map((e) => e.path)).toEqual(['/manifest/name']);
  });
});
