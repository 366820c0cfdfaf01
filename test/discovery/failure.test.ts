import { SseError } from '@modelcontextprotocol/sdk/client/sse.js';
import { StreamableHTTPError } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ErrorCode, McpError } from '@modelcontextprotocol/sdk/types.js';
import { classifyFailure, errorChain, type FetchObservations } from '../../src/upstream/failure.js';
import { sanitize, secretsOf } from '../../src/upstream/redaction.js';

const url = new URL('https://mcp.example.com/mcp?api_key=abc123');

function coded(message: string, code: string): Error {
  return Object.assign(new Error(message), { code });
}
/** What undici's fetch throws: TypeError("fetch failed") with the real error as its cause. */
function fetchFailed(cause: unknown): TypeError {
  return new TypeError('fetch failed', { cause });
}

function classify(error: unknown, observed: FetchObservations = { failedResponses: [] }, transport: 'sse' | 'streamable-http' = 'streamable-http') {
  return classifyFailure(error, { url, transport, observed, timedOut: false, timeoutMs: 1000, secrets: ['abc123'] });
}

describe('classifyFailure', () => {
  it.each<[string, unknown, string, boolean]>([
    ['refused (wrapped twice)', fetchFailed(new AggregateError([coded('connect ECONNREFUSED ::1:443', 'ECONNREFUSED'), coded('connect ECONNREFUSED 127.0.0.1:443', 'ECONNREFUSED')])), 'Unreachable', false],
    ['unknown host', fetchFailed(coded('getaddrinfo ENOTFOUND mcp.example.com', 'ENOTFOUND')), 'Unreachable', false],
    ['no route', fetchFailed(coded('connect EHOSTUNREACH', 'EHOSTUNREACH')), 'Unreachable', false],
    ['fetch-blocked port', fetchFailed(new Error('bad port')), 'Unreachable', false],
    ['reset', fetchFailed(coded('other side closed', 'UND_ERR_SOCKET')), 'Unreachable', false],
    ['self-signed', fetchFailed(coded('self-signed certificate', 'DEPTH_ZERO_SELF_SIGNED_CERT')), 'TLSError', false],
    ['unknown CA', fetchFailed(coded('unable to verify the first certificate', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE')), 'TLSError', false],
    ['expired', fetchFailed(coded('certificate has expired', 'CERT_HAS_EXPIRED')), 'TLSError', false],
    ['hostname mismatch', fetchFailed(coded("Hostname/IP does not match certificate's altnames", 'ERR_TLS_CERT_ALTNAME_INVALID')), 'TLSError', false],
    ['TLS to plain HTTP', fetchFailed(coded('wrong version number', 'ERR_SSL_WRONG_VERSION_NUMBER')), 'TLSError', false],
    ['SSE flattened text', new SseError(undefined, 'TypeError: fetch failed: self-signed certificate', undefined as never), 'TLSError', false],
    ['401', new StreamableHTTPError(401, 'Error POSTing to endpoint: {"error":"unauthorized"}'), 'AuthenticationRequired', false],
    ['403 from the SSE POST', new Error('Error POSTing to endpoint (HTTP 403): forbidden'), 'AuthenticationRequired', false],
    ['404: another transport may answer', new StreamableHTTPError(404, 'Error POSTing to endpoint: Not Found'), 'ProtocolError', true],
    ['405 on the SSE GET', new SseError(405, 'Non-200 status code (405)', undefined as never), 'ProtocolError', true],
    ['502 whose body mentions ECONNREFUSED', new StreamableHTTPError(502, 'Error POSTing to endpoint: upstream connect ECONNREFUSED'), 'ProtocolError', false],
    ['JSON-RPC error', new McpError(ErrorCode.MethodNotFound, 'Method not found'), 'ProtocolError', false],
  ])('%s', (_label, error, reason, wrongTransport) => {
    const failure = classify(error);
    expect(failure.reason).toBe(reason);
    expect(failure.wrongTransport).toBe(wrongTransport);
    expect(failure.message).not.toContain('abc123');
    expect(failure.message).toMatch(/; .+\.$/); // says what to do
  });

  it('uses the raw network error the fetch saw when the transport kept only text', () => {
    const observed = { failedResponses: [], networkError: fetchFailed(coded('connect ECONNREFUSED', 'ECONNREFUSED')) };
    expect(classify(new SseError(undefined, 'TypeError: fetch failed', undefined as never), observed, 'sse').reason).toBe('Unreachable');
  });

  it('tells how to trust a certificate, and how to skip verification only on purpose', () => {
    expect(classify(fetchFailed(coded('self-signed certificate', 'DEPTH_ZERO_SELF_SIGNED_CERT'))).message).toBe(
      'The TLS certificate of mcp.example.com:443 could not be verified (DEPTH_ZERO_SELF_SIGNED_CERT); set tls_settings.ca_cert to the CA that signed it, or, only if you accept an unverified connection, tls_settings.reject_unauthorized: false.',
    );
  });

  it('quotes the WWW-Authenticate challenge of the rejected request', () => {
    const observed = { failedResponses: [{ method: 'POST', status: 401, wwwAuthenticate: 'Bearer resource_metadata="https://mcp.example.com/.well-known/oauth-protected-resource"' }] };
    expect(classify(new StreamableHTTPError(401, 'x'), observed).message).toBe(
      'MCP server at mcp.example.com:443 answered HTTP 401 (WWW-Authenticate: Bearer resource_metadata="https://mcp.example.com/.well-known/oauth-protected-resource"); configure auth_data with credentials the server accepts.',
    );
  });

  it('never shows the query string of the URL, which may carry a key', () => {
    expect(classify(new StreamableHTTPError(404, 'x')).message).toContain('https://mcp.example.com/mcp answered HTTP 404');
  });

  it('is a Timeout whenever the budget ran out, whatever was thrown', () => {
    const failure = classifyFailure(new Error('aborted'), { url, transport: 'sse', observed: { failedResponses: [] }, timedOut: true, timeoutMs: 1234, secrets: [] });
    expect(failure).toMatchObject({ reason: 'Timeout', message: expect.stringContaining('1234 ms') });
  });
});

describe('helpers', () => {
  it('walks cause and AggregateError chains without looping', () => {
    const a: Error & { cause?: unknown } = new Error('a');
    const b = new AggregateError([a], 'b');
    a.cause = b;
    expect(errorChain(new Error('top', { cause: b }))).toHaveLength(3);
  });

  it('redacts header values and the credential after the scheme', () => {
    const secrets = secretsOf({ Authorization: 'Bearer tok-123456', 'X-Key': 'k-abcdef' });
    expect(sanitize('got Bearer tok-123456 and tok-123456 and k-abcdef\n', secrets)).toBe('got [redacted] and [redacted] and [redacted]');
  });
});
