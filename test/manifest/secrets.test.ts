import {
  MASK,
  joinSecrets,
  maskManifest,
  restoreMaskedSecrets,
  secretPathPatterns,
  secretPointers,
  splitSecrets,
} from '../../src/manifest/secrets.js';
import { deriveSecretPatterns, formatPattern } from '../../src/manifest/secret-paths.js';
import { CANARY, fullManifest, minimalManifest, oauth2Auth, type Json } from './manifests.js';

/** Additional headers (one name needing RFC 6901 escaping) and an OAuth client secret. */
function oauthManifest(): Json {
  return {
    ...minimalManifest(),
    auth_data: { ...oauth2Auth(), client_secret: CANARY },
    additional_headers: { 'X~Key': 'tilde-secret', 'X-Api-Key': '${env:API_KEY}' },
  };
}

describe('secret paths come from the schema', () => {
  it('derives the patterns of mcp-server/remote from its x-secret marks', () => {
    expect(secretPathPatterns('mcp-server/remote')).toEqual([
      '/upstream_proxy/auth_token',
      '/auth_data/headers/*',
      '/auth_data/client_secret',
      '/additional_headers/*',
    ]);
  });

  it('follows $ref, maps, arrays and oneOf branches of any schema', () => {
    const schema = {
      type: 'object',
      properties: {
        plain: { type: 'string' },
        token: { type: 'string', 'x-secret': true },
        list: { type: 'array', items: { type: 'object', properties: { key: { $ref: '#/$defs/Secret' }, id: { type: 'string' } } } },
        map: { type: 'object', additionalProperties: { $ref: '#/$defs/Secret' } },
        choice: { oneOf: [{ properties: { a: { 'x-secret': true } } }, { properties: { b: { type: 'string' } } }] },
      },
      $defs: { Secret: { type: 'string', 'x-secret': true } },
    };
    expect(deriveSecretPatterns(schema).map(formatPattern)).toEqual(['/token', '/list/*/key', '/map/*', '/choice/a']);
  });
});

describe('secretPointers', () => {
  it('finds header map values and the client secret, escaping per RFC 6901', () => {
    expect(secretPointers(oauthManifest())).toEqual([
      '/auth_data/client_secret',
      '/additional_headers/X~0Key',
      '/additional_headers/X-Api-Key',
    ]);
  });

  it('finds both header maps', () => {
    expect(secretPointers(fullManifest())).toEqual([
      '/auth_data/headers/Authorization',
      '/additional_headers/X-Tenant',
      '/additional_headers/X-Api-Key',
    ]);
  });

  it('finds nothing in a manifest without secrets', () => {
    expect(secretPointers(minimalManifest())).toEqual([]);
  });

  it('uses the paths of every kind when the type is unknown', () => {
    expect(secretPointers({ type: 'unknown', additional_headers: { A: 'x' }, auth_data: { client_secret: 'y' } })).toEqual([
      '/auth_data/client_secret',
      '/additional_headers/A',
    ]);
  });
});

describe('maskManifest', () => {
  it('replaces every secret value and nothing else, in a copy', () => {
    const m = fullManifest();
    const before = JSON.stringify(m);
    const masked = maskManifest(m);
    expect(masked).toEqual({
      ...fullManifest(),
      auth_data: { type: 'header', headers: { Authorization: MASK }, auth_level: 'per_user' },
      additional_headers: { 'X-Tenant': MASK, 'X-Api-Key': MASK },
    });
    expect(JSON.stringify(m)).toBe(before);
  });

  it('shows a value that is only a reference as written; masks literals, mixes and values of the wrong type', () => {
    const masked = maskManifest({
      ...oauthManifest(),
      additional_headers: { 'X-Ref': '${file:/run/secret}', 'X-Bearer': 'Bearer ${env:TOKEN}', 'X-Mixed': 'sk-1${env:TOKEN}', 'X-Two': '${env:A}${env:B}', 'X-Num': 42 },
    });
    expect(masked.additional_headers).toEqual({ 'X-Ref': '${file:/run/secret}', 'X-Bearer': 'Bearer ${env:TOKEN}', 'X-Mixed': MASK, 'X-Two': MASK, 'X-Num': MASK });
    expect(JSON.stringify(masked)).not.toContain(CANARY);
  });

  it('leaves values that are not objects alone', () => {
    expect(maskManifest('text')).toBe('text');
    expect(maskManifest(null)).toBeNull();
  });
});

describe('splitSecrets / joinSecrets', () => {
  it('round-trips, and the spec holds no secret', () => {
    const m = oauthManifest();
    const { spec, secrets } = splitSecrets(m);
    expect(secrets).toEqual({
      '/auth_data/client_secret': CANARY,
      '/additional_headers/X~0Key': 'tilde-secret',
      '/additional_headers/X-Api-Key': '${env:API_KEY}',
    });
    expect(spec).toEqual(maskManifest(m));
    expect(JSON.stringify(spec)).not.toContain(CANARY);
    expect(joinSecrets(spec, secrets)).toEqual(m);
    expect(m.auth_data).toMatchObject({ client_secret: CANARY }); // input untouched
  });

  it('ignores a secret whose place no longer exists', () => {
    const spec = minimalManifest();
    expect(joinSecrets(spec, { '/auth_data/client_secret': 'x', '/additional_headers/A': 'y' })).toEqual(spec);
  });
});

describe('restoreMaskedSecrets', () => {
  it('takes the stored value for a masked secret and keeps new values', () => {
    const stored = fullManifest();
    const incoming = maskManifest(fullManifest());
    (incoming.additional_headers as Json)['X-Api-Key'] = 'new-value';
    const { manifest, errors } = restoreMaskedSecrets(incoming, stored);
    expect(errors).toEqual([]);
    expect(manifest).toEqual({ ...fullManifest(), additional_headers: { 'X-Tenant': 'acme', 'X-Api-Key': 'new-value' } });
    expect((incoming.additional_headers as Json)['X-Tenant']).toBe(MASK); // input untouched
  });

  it('refuses a mask where nothing is stored', () => {
    const stored = fullManifest();
    const incoming = fullManifest();
    (incoming.additional_headers as Json)['X-New'] = MASK;
    const { errors } = restoreMaskedSecrets(incoming, stored);
    expect(errors).toEqual([{ path: '/additional_headers/X-New', message: expect.stringContaining('no secret is stored at this path; send the real value') }]);
  });

  it('refuses every mask when there is no stored manifest', () => {
    const { errors } = restoreMaskedSecrets(maskManifest(oauthManifest()), undefined);
    // The reference at /additional_headers/X-Api-Key is not masked, so it needs nothing stored.
    expect(errors.map((e) => e.path)).toEqual(['/auth_data/client_secret', '/additional_headers/X~0Key']);
  });

  it('does not take a stored value that is itself the mask', () => {
    const stored = maskManifest(fullManifest());
    const { errors } = restoreMaskedSecrets(maskManifest(fullManifest()), stored);
    expect(errors).toHaveLength(3);
  });
});

describe('maskManifest copies only what it masks', () => {
  it('shares what holds no secret, and leaves the input as it was', () => {
    const m = fullManifest() as Record<string, unknown>;
    const before = JSON.stringify(m);
    const masked = maskManifest(m);
    expect(masked).not.toBe(m);
    expect(masked.auth_data).not.toBe(m.auth_data);
    expect(masked.collaborators).toBe(m.collaborators);
    expect(JSON.stringify(m)).toBe(before);
  });
});
