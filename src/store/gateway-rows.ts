// The gateway_entries row of an entry and back: every secret of the entry (header values, the upstream
// proxy's headers, a stdio server's env values) sealed by the codec in the one `headers` column, the rest
// as JSON in `config`. Both engines store entries so.
import { ENV_HEADER_PREFIX, gatewayEntryHash, PROXY_HEADER_PREFIX, type GatewayEntry, type StoredGatewayEntry } from '../gateway/gateway-entry.js';
import type { SecretCodec } from './secret-codec.js';

export interface EntryRow {
  fqn: string;
  config: string;
  headers: string;
  config_hash: string;
  generation: number;
  updated_at: string;
}


/** The config and headers columns of an entry. */
export function sealEntry(entry: GatewayEntry, codec: SecretCodec): { config: string; headers: string } {
  const { headers, ...config } = entry;
  const sealed: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) sealed[name] = codec.seal(value);
  if (config.upstreamProxy) {
    for (const [name, value] of Object.entries(config.upstreamProxy.headers)) sealed[`${PROXY_HEADER_PREFIX}${name}`] = codec.seal(value);
    config.upstreamProxy = { url: config.upstreamProxy.url, headers: {} };
  }
  if (config.stdio) {
    for (const [name, value] of Object.entries(config.stdio.env)) sealed[`${ENV_HEADER_PREFIX}${name}`] = codec.seal(value);
    config.stdio = { ...config.stdio, env: {} };
  }
  return { config: JSON.stringify(config), headers: JSON.stringify(sealed) };
}

/** The stored entry of a row, its secrets opened; its configHash recomputed from what is stored (drift shows). */
export function entryOfRow(row: EntryRow, codec: SecretCodec, hashKey: Uint8Array | undefined): StoredGatewayEntry {
  const sealed = JSON.parse(row.headers) as Record<string, string>;
  const headers: Record<string, string> = {};
  const proxyHeaders: Record<string, string> = {};
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(sealed)) {
    if (name.startsWith(PROXY_HEADER_PREFIX)) proxyHeaders[name.slice(PROXY_HEADER_PREFIX.length)] = codec.open(value);
    else if (name.startsWith(ENV_HEADER_PREFIX)) env[name.slice(ENV_HEADER_PREFIX.length)] = codec.open(value);
    else headers[name] = codec.open(value);
  }
  const entry: GatewayEntry = { ...(JSON.parse(row.config) as Omit<GatewayEntry, 'headers'>), headers };
  if (entry.upstreamProxy) entry.upstreamProxy = { url: entry.upstreamProxy.url, headers: proxyHeaders };
  if (entry.stdio) entry.stdio = { ...entry.stdio, env };
  return { ...entry, configHash: gatewayEntryHash(entry, hashKey), writtenHash: row.config_hash, updatedAt: row.updated_at };
}
