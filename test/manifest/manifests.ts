// Manifests shared by the test/manifest suites. Each call returns a fresh object, so a test may mutate it.
import { readFileSync } from 'node:fs';

export const PEM = [
  '-----BEGIN CERTIFICATE-----',
  'MIIBszCCAVmgAwIBAgIUXfakeFAKEfakeFAKEfakeFAKEfakeFAKEwCgYIKoZIzj0E',
  '-----END CERTIFICATE-----',
  '',
].join('\n');

/** A value that must never show up in any message. */
export const CANARY = 'sk-CANARY-7f3a9c1e';

export type Json = Record<string, unknown>;

export function minimalManifest(): Json {
  return {
    type: 'mcp-server/remote',
    name: 'search-tools',
    description: 'Search tools',
    url: 'https://mcp.example.com/mcp',
    collaborators: [{ subject: 'user:alice@example.com', role_id: 'mcp-server-manager' }],
  };
}

/** Every field of the schema, with header authentication. */
export function fullManifest(): Json {
  return {
    type: 'mcp-server/remote',
    name: 'search-tools',
    description: 'Search and fetch tools for the docs site',
    url: 'https://mcp.example.com/mcp',
    collaborators: [
      { subject: 'user:alice@example.com', role_id: 'mcp-server-manager' },
      { subject: 'team:search', role_id: 'mcp-server-user' },
      { subject: 'serviceaccount:ci', role_id: 'mcp-server-user' },
      { subject: 'virtualaccount:bot', role_id: 'mcp-server-user' },
    ],
    tls_settings: { reject_unauthorized: true, ca_cert: PEM },
    tool_settings: [
      {
        name: 'search',
        description: 'Full-text search over the docs',
        disabled: false,
        annotations: { title: 'Search', readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
      },
      { name: 'fetch', disabled: true },
    ],
    auth_data: { type: 'header', headers: { Authorization: 'Bearer header-secret' }, auth_level: 'per_user' },
    additional_headers: { 'X-Tenant': 'acme', 'X-Api-Key': 'additional-secret' },
    ownedBy: { account: 'acme' },
    tags: { env: 'prod', 'team/owner': 'search' },
  };
}

export function oauth2Auth(): Json {
  return {
    type: 'oauth2',
    grant_type: 'client_credentials',
    token_url: 'https://auth.example.com/oauth/token',
    jwt_source: 'id_token',
    authorization_url: 'https://auth.example.com/oauth/authorize',
    client_id: 'search-tools',
    client_secret: 'oauth-secret',
    registration_url: 'https://auth.example.com/oauth/register',
    scopes: ['openid', 'docs:read'],
  };
}

export function readFixture(name: string): string {
  return readFileSync(new URL(`../fixtures/manifests/${name}`, import.meta.url), 'utf8');
}
