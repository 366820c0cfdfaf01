import { normaliseManifest, normalisedSpecHash, specHash, stableStringify } from '../../src/manifest/normalise.js';
import type { McpServerManifest } from '../../src/domain/manifest.js';
import { fullManifest, minimalManifest, oauth2Auth, type Json } from './manifests.js';

const asManifest = (m: Json): McpServerManifest => m as unknown as McpServerManifest;
const normalise = (m: Json): Json => normaliseManifest(asManifest(m)) as unknown as Json;
const hash = (m: Json): string => specHash(asManifest(m));

/** Reverses the key order of every object, deeply. */
function reverseKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(reverseKeys);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(Object.entries(value).reverse().map(([k, v]) => [k, reverseKeys(v)]));
}

describe('normaliseManifest', () => {
  it('fills the defaults of a minimal manifest, in schema order', () => {
    const n = normalise(minimalManifest());
    expect(n).toEqual({
      ...minimalManifest(),
      tls_settings: { reject_unauthorized: true },
      tool_settings: [],
      additional_headers: {},
      tags: {},
    });
    expect(Object.keys(n)).toEqual([
      'type', 'name', 'description', 'url', 'collaborators', 'tls_settings', 'tool_settings', 'additional_headers', 'tags',
    ]);
  });

  it('fills defaults inside tools and auth variants', () => {
    const n = normalise({
      ...minimalManifest(),
      tool_settings: [{ name: 'search' }],
      auth_data: { type: 'header', headers: { A: 'b' } },
    });
    expect(n.tool_settings).toEqual([{ name: 'search', disabled: false }]);
    expect(n.auth_data).toEqual({ type: 'header', headers: { A: 'b' }, auth_level: 'global' });
    const o = normalise({ ...minimalManifest(), auth_data: { type: 'oauth2', grant_type: 'authorization_code', token_url: 'https://a/t' } });
    expect(o.auth_data).toEqual({ type: 'oauth2', grant_type: 'authorization_code', token_url: 'https://a/t', jwt_source: 'access_token' });
  });

  it('keeps values that are given instead of defaults', () => {
    const n = normalise({ ...minimalManifest(), tls_settings: { reject_unauthorized: false }, tool_settings: [{ name: 't', disabled: true }] });
    expect(n.tls_settings).toEqual({ reject_unauthorized: false });
    expect(n.tool_settings).toEqual([{ name: 't', disabled: true }]);
  });

  it('orders known objects by the schema and maps by key', () => {
    const n = normalise(reverseKeys({ ...fullManifest(), auth_data: oauth2Auth() }) as Json);
    expect(Object.keys(n.auth_data as Json)).toEqual([
      'type', 'grant_type', 'token_url', 'jwt_source', 'authorization_url', 'client_id', 'client_secret', 'registration_url', 'scopes',
    ]);
    expect(Object.keys((n.collaborators as Json[])[0]!)).toEqual(['subject', 'role_id']);
    expect(Object.keys((n.tool_settings as Json[])[1]!)).toEqual(['name', 'description', 'disabled', 'annotations']);
    expect(Object.keys(n.additional_headers as Json)).toEqual(['X-Api-Key', 'X-Tenant']);
    expect(Object.keys(n.tags as Json)).toEqual(['env', 'team/owner']);
    expect((n.auth_data as Json).scopes).toEqual(['openid', 'docs:read']); // scope order is kept
  });

  it('sorts tools by name', () => {
    const n = normalise({ ...minimalManifest(), tool_settings: [{ name: 'b' }, { name: 'a-b' }, { name: 'a' }] });
    expect((n.tool_settings as Json[]).map((t) => t.name)).toEqual(['a', 'a-b', 'b']);
  });

  it('sorts collaborators by subject then role and drops duplicates', () => {
    const n = normalise({
      ...minimalManifest(),
      collaborators: [
        { subject: 'user:bob', role_id: 'mcp-server-user' },
        { role_id: 'mcp-server-user', subject: 'team:a' },
        { subject: 'user:bob', role_id: 'mcp-server-manager' },
        { subject: 'user:bob', role_id: 'mcp-server-user' },
      ],
    });
    expect(n.collaborators).toEqual([
      { subject: 'team:a', role_id: 'mcp-server-user' },
      { subject: 'user:bob', role_id: 'mcp-server-manager' },
      { subject: 'user:bob', role_id: 'mcp-server-user' },
    ]);
  });

  it('keeps header names as written', () => {
    const n = normalise({ ...minimalManifest(), additional_headers: { 'x-lower': 'a', 'X-Upper': 'b' } });
    expect(n.additional_headers).toEqual({ 'X-Upper': 'b', 'x-lower': 'a' });
  });

  it.each([
    ['minimal', minimalManifest()],
    ['full', fullManifest()],
    ['oauth2', { ...fullManifest(), auth_data: oauth2Auth() }],
    ['passthrough', { ...minimalManifest(), auth_data: { type: 'passthrough' } }],
  ])('is idempotent (%s)', (_name, m) => {
    const once = normalise(m);
    const twice = normalise(once);
    expect(twice).toEqual(once);
    expect(JSON.stringify(twice)).toBe(JSON.stringify(once)); // key order too
  });

  it('does not change its input', () => {
    const m = fullManifest();
    const before = JSON.stringify(m);
    normalise(m);
    expect(JSON.stringify(m)).toBe(before);
  });

  it('refuses an unsupported type', () => {
    expect(() => normalise({ type: 'mcp-server/unknown' })).toThrow('unsupported manifest type');
  });
});

describe('specHash', () => {
  const base = fullManifest();

  it('is a sha256 hex digest', () => {
    expect(hash(base)).toMatch(/^[0-9a-f]{64}$/);
  });

  it('of a normalised manifest is normalisedSpecHash, keyed or not', () => {
    const key = new Uint8Array(32).fill(7);
    for (const m of [base, minimalManifest(), reverseKeys(fullManifest()) as Json]) {
      const normalised = normaliseManifest(asManifest(m));
      expect(normalisedSpecHash(normalised)).toBe(hash(m));
      expect(normalisedSpecHash(normalised, key)).toBe(specHash(asManifest(m), key));
    }
  });

  it.each<[string, Json]>([
    ['explicit defaults', {
      ...minimalManifest(),
      tls_settings: { reject_unauthorized: true },
      tool_settings: [],
      additional_headers: {},
      tags: {},
    }],
    ['reversed key order', reverseKeys(minimalManifest()) as Json],
  ])('ignores %s', (_name, variant) => {
    expect(hash(variant)).toBe(hash(minimalManifest()));
  });

  it('ignores the order of tools and collaborators, and repeated collaborators', () => {
    const shuffled = fullManifest();
    shuffled.tool_settings = [...(base.tool_settings as Json[])].reverse();
    shuffled.collaborators = [...(base.collaborators as Json[])].reverse().concat([(base.collaborators as Json[])[0]!]);
    expect(hash(reverseKeys(shuffled) as Json)).toBe(hash(base));
  });

  const withOauth2 = (): Json => ({ ...fullManifest(), auth_data: oauth2Auth() });
  it.each<[string, () => Json, (m: Json) => void]>([
    ['description', fullManifest, (m) => (m.description = 'other')],
    ['a secret value', fullManifest, (m) => ((m.auth_data as { headers: Json }).headers.Authorization = 'Bearer rotated')],
    ['a tool flag', fullManifest, (m) => ((m.tool_settings as Json[])[1]!.disabled = false)],
    ['a default made explicit with another value', fullManifest, (m) => (m.tls_settings = { reject_unauthorized: false })],
    ['the order of scopes', withOauth2, (m) => ((m.auth_data as Json).scopes = ['docs:read', 'openid'])],
  ])('changes with %s', (_name, make, change) => {
    const changed = make();
    change(changed);
    expect(hash(changed)).not.toBe(hash(make()));
  });
});

describe('stableStringify', () => {
  it('sorts keys at every level, keeps array order and writes no whitespace', () => {
    expect(stableStringify({ b: 1, a: { d: [3, { y: 1, x: 2 }], c: 'é"' } })).toBe('{"a":{"c":"é\\"","d":[3,{"x":2,"y":1}]},"b":1}');
  });

  it('drops undefined members as JSON does', () => {
    expect(stableStringify({ a: undefined, b: [undefined, null] })).toBe('{"b":[null,null]}');
  });

  it('round-trips through JSON.parse', () => {
    const m = fullManifest();
    expect(JSON.parse(stableStringify(m))).toEqual(m);
  });
});
