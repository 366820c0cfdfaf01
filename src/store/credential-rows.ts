// The credentials and oauth_states rows and back: secret values sealed by the codec in the `secrets` column,
// the rest as JSON in `data`. Both engines store credentials so.
import type { Credential, CredentialKind, OAuthState, StoredCredential } from './credential-store.js';
import type { SecretCodec } from './secret-codec.js';

export interface CredentialRow {
  fqn: string;
  subject: string;
  kind: string;
  secrets: string;
  data: string;
  binding: string;
  updated_at: string;
}

export interface StateRow {
  id: string;
  fqn: string;
  subject: string;
  secrets: string;
  data: string;
  expires_at: number | string;
}

export function sealValues(values: Record<string, string>, codec: SecretCodec): string {
  return JSON.stringify(Object.fromEntries(Object.entries(values).map(([k, v]) => [k, codec.seal(v)])));
}

function openValues(text: string, codec: SecretCodec): Record<string, string> {
  return Object.fromEntries(Object.entries(JSON.parse(text) as Record<string, string>).map(([k, v]) => [k, codec.open(v)]));
}

export function credentialColumns(c: Credential, codec: SecretCodec): { secrets: string; data: string } {
  return { secrets: sealValues(c.secrets, codec), data: JSON.stringify(c.data) };
}

export function credentialOfRow(row: CredentialRow, codec: SecretCodec): StoredCredential {
  return {
    fqn: row.fqn,
    subject: row.subject,
    kind: row.kind as CredentialKind,
    secrets: openValues(row.secrets, codec),
    data: JSON.parse(row.data) as Record<string, unknown>,
    binding: row.binding,
    updatedAt: row.updated_at,
  };
}

export function stateOfRow(row: StateRow, codec: SecretCodec): OAuthState {
  return {
    id: row.id,
    fqn: row.fqn,
    subject: row.subject,
    secrets: openValues(row.secrets, codec),
    data: JSON.parse(row.data) as Record<string, unknown>,
    expiresAt: Number(row.expires_at),
  };
}
