// The gateway's side of an mcp-server/openapi server: an MCP server of the gateway's own making (the SDK's
// Server, on an in-memory transport pair), one per client session, relayed by the data plane like any
// upstream (so tool policy, request deadlines, cancellation and metrics are the relay's). tools/list answers
// the operations of the entry's catalog as it is now; tools/call sends one HTTP request (http-call.ts) to
// the API with the entry's headers and TLS, through the egress policy, and answers its body as text.
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import { CallToolRequestSchema, ListToolsRequestSchema, type CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { egressDenial, type EgressPolicy } from '../upstream/egress.js';
import { networkFailure } from '../upstream/failure.js';
import { secretsOf } from '../upstream/redaction.js';
import { createServerFetch } from '../upstream/server-fetch.js';
import type { GatewayEntry } from '../gateway/gateway-entry.js';
import { ArgumentError, buildRequest, MAX_RESULT_BYTES, resultOf } from './http-call.js';
import { isAborted } from './document-reader.js';

export interface OpenApiSessionOptions {
  /** The entry the session opened on. */
  entry: GatewayEntry;
  /** The entry as the gateway store holds it now (its catalog, headers); absent or undefined: `entry`. */
  latest?: () => GatewayEntry | undefined;
  /** The headers a request carries, from an entry (a passthrough entry's minted caller token included). */
  headersOf: (entry: GatewayEntry) => Record<string, string>;
  egress?: EgressPolicy;
}

export interface OpenApiSession {
  /** The client end: the relay sends the client's messages here and reads the answers. */
  transport: Transport;
  close(): Promise<void>;
}

export async function openOpenApiSession(options: OpenApiSessionOptions): Promise<OpenApiSession> {
  const current = () => options.latest?.() ?? options.entry;
  const serverFetch = createServerFetch(current().tls, { ...(options.egress ? { egress: options.egress } : {}) });
  const server = new Server({ name: options.entry.name, version: '1.0.0' }, { capabilities: { tools: { listChanged: true } } });
  server.setRequestHandler(ListToolsRequestSchema, () => ({ tools: (current().openapi?.operations ?? []).map((o) => o.tool) }));
  server.setRequestHandler(CallToolRequestSchema, async (request, extra) => {
    const entry = current();
    const op = entry.openapi?.operations.find((o) => o.tool.name === request.params.name);
    if (!op) return failure(`Tool "${request.params.name}" is not a tool of MCP server "${entry.name}"; call tools/list for the tools it serves.`);
    const headers = options.headersOf(entry);
    let built;
    try {
      built = buildRequest(op, request.params.arguments ?? {}, entry.upstreamUrl, headers);
    } catch (error) {
      if (error instanceof ArgumentError) return failure(error.message);
      throw error;
    }
    const requestMs = entry.timeouts?.requestMs;
    const signal = requestMs ? AbortSignal.any([extra.signal, AbortSignal.timeout(requestMs)]) : extra.signal;
    const secrets = secretsOf(headers).filter((s) => s.length >= 8);
    const where = `${built.method} ${built.url.origin}${built.url.pathname}`;
    try {
      const response = await serverFetch(built.url, {
        method: built.method,
        headers: built.headers,
        ...(built.body !== undefined ? { body: built.body } : {}),
        // The manifest's credentials are for the API's origin only: a redirect is answered, not followed.
        redirect: 'manual',
        signal,
      });
      const { bytes, truncated } = await readAtMost(response, MAX_RESULT_BYTES);
      return redacted(resultOf(response.status, response.statusText, response.headers.get('content-type'), bytes, truncated), secrets);
    } catch (error) {
      if (egressDenial(error)) return failure(`${where} was not sent: ${built.url.hostname} is denied by the egress policy.`);
      if (isAborted(error)) {
        return failure(extra.signal.aborted ? `${where} was cancelled.` : `${where} did not answer within ${requestMs} ms (timeouts.request_ms of the manifest).`);
      }
      const network = networkFailure(error);
      const why =
        network?.kind === 'tls'
          ? `TLS failed (${network.code}); check tls_settings`
          : network?.kind === 'unreachable'
            ? network.code
            : network?.kind === 'bad-port'
              ? `fetch refuses port ${built.url.port} (a blocked port); serve the API on another port`
              : 'the request failed';
      return failure(`${where} could not be sent: ${why}.`);
    }
  });
  const [client, local] = InMemoryTransport.createLinkedPair();
  await server.connect(local);
  let closing: Promise<void> | undefined;
  return {
    transport: client,
    close: () =>
      (closing ??= (async () => {
        await server.close().catch(() => undefined);
        await client.close().catch(() => undefined);
        await serverFetch.close();
      })()),
  };
}

function failure(text: string): CallToolResult {
  return { content: [{ type: 'text', text }], isError: true };
}

/** The API may quote back the credential it was sent (an echo, a debug page): never to the caller. */
function redacted(result: CallToolResult, secrets: string[]): CallToolResult {
  if (secrets.length === 0) return result;
  return {
    ...result,
    content: result.content.map((c) => (c.type === 'text' ? { ...c, text: secrets.reduce((t, s) => t.split(s).join('[redacted]'), c.text) } : c)),
  };
}

/** At most `max` bytes of the body; the rest is not read. */
async function readAtMost(response: Response, max: number): Promise<{ bytes: Uint8Array; truncated: boolean }> {
  if (!response.body) return { bytes: new Uint8Array(), truncated: false };
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return { bytes: Buffer.concat(chunks, total), truncated: false };
    if (total + value.byteLength > max) {
      chunks.push(value.subarray(0, max - total));
      await reader.cancel().catch(() => undefined);
      return { bytes: Buffer.concat(chunks, max), truncated: true };
    }
    chunks.push(value);
    total += value.byteLength;
  }
}

