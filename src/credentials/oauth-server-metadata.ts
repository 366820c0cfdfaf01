// The OAuth metadata of an authorization_code server as its manifest takes it: what the server publishes
// (RFC 9728 → RFC 8414 / OpenID, src/upstream/oauth-metadata.ts) with the manifest's authorization_url /
// token_url / registration_url over it; without published metadata, the manifest must name both endpoints.
// The reconciler asks this before it calls such a server Ready, and an authorization starts from it, so
// Ready means an authorization can start.
import type { EgressPolicy } from '../upstream/egress.js';
import { discoverOAuthMetadata, type OAuthMetadataResult, type OAuthServerMetadata } from '../upstream/oauth-metadata.js';

/** What a manifest sets of an authorization server's endpoints. */
export interface OAuthEndpointSettings {
  authorizationUrl?: string;
  tokenUrl?: string;
  registrationUrl?: string;
}

/**
 * `use`: the metadata, the manifest's endpoints over it. `manifest`: the server publishes none and the
 * manifest names both endpoints. `unusable`: a sentence naming what is wrong and what to set.
 */
export type OAuthMetadataVerdict = { kind: 'use'; metadata: OAuthServerMetadata } | { kind: 'manifest' } | { kind: 'unusable'; message: string };

/** Asks the server at `serverUrl` for its metadata and judges it; never throws. */
export async function findOAuthMetadata(
  server: { name: string; url: string },
  settings: OAuthEndpointSettings,
  options: { timeoutMs: number; egress?: EgressPolicy },
): Promise<OAuthMetadataVerdict> {
  const found = await discoverOAuthMetadata({ serverUrl: server.url, timeoutMs: options.timeoutMs }, options.egress ? { egress: options.egress } : {});
  return judgeOAuthMetadata(found, server.name, settings);
}

export function judgeOAuthMetadata(found: OAuthMetadataResult, serverName: string, settings: OAuthEndpointSettings): OAuthMetadataVerdict {
  if (found.kind === 'failed') return { kind: 'unusable', message: `The OAuth metadata of MCP server "${serverName}" cannot be used (${found.reason}): ${found.message}` };
  if (found.kind === 'absent') {
    if (settings.authorizationUrl && settings.tokenUrl) return { kind: 'manifest' };
    return { kind: 'unusable', message: `MCP server "${serverName}" publishes no OAuth metadata; set auth_data.authorization_url and auth_data.token_url in its manifest.` };
  }
  const m = found.metadata;
  if (!m.pkce && !settings.authorizationUrl) {
    return { kind: 'unusable', message: `The authorization server of MCP server "${serverName}" does not offer PKCE with S256, which the MCP authorization spec requires.` };
  }
  return {
    kind: 'use',
    metadata: {
      ...m,
      ...(settings.authorizationUrl ? { authorizationEndpoint: settings.authorizationUrl } : {}),
      ...(settings.tokenUrl ? { tokenEndpoint: settings.tokenUrl } : {}),
      ...(settings.registrationUrl ? { registrationEndpoint: settings.registrationUrl } : {}),
    },
  };
}
