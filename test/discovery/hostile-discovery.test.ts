// discover() against upstreams that send too much: each fails alone with ResponseTooLarge, promptly
// (the discovery budget is far longer than the test waits), and the hostile stream is hung up on.
import { discover, type DiscoveryTarget } from '../../src/discovery/index.js';
import { MAX_TOOLS } from '../../src/upstream/index.js';
import { INTERNAL_BODY, startHostileUpstream, type HostileMode, type HostileUpstream } from '../support/hostile-upstream.js';
import { startMcpServer } from '../support/mcp-servers.js';
import { waitFor } from '../support/control-plane.js';

const LIMITS = { maxMessageBytes: 64 * 1024, maxResponseBytes: 256 * 1024 };
/** Far longer than the test's own timeout: a failure must come from the cap, never from the budget. */
const BUDGET_MS = 120_000;

function target(url: string, overrides: Partial<DiscoveryTarget> = {}): DiscoveryTarget {
  return { url, headers: {}, tls: { rejectUnauthorized: true }, timeoutMs: BUDGET_MS, authConfigured: 'none', fixedTransport: 'streamable-http', ...overrides };
}

describe('discovery of a hostile upstream', () => {
  let hostile: HostileUpstream;
  beforeAll(async () => {
    hostile = await startHostileUpstream();
  });
  afterAll(async () => {
    await hostile.close();
  });

  const cases: Array<[HostileMode, string]> = [
    ['endless-line', 'an event of the stream larger than 65536 bytes'],
    ['endless-event', 'an event of the stream larger than 65536 bytes'],
    ['huge-list', 'an answer larger than 65536 bytes'],
    ['million-tools', 'an answer larger than 65536 bytes'],
  ];

  it.each(cases)('%s: ResponseTooLarge, and the stream is hung up on', async (mode, what) => {
    const result = await discover(target(hostile.url(mode)), { limits: LIMITS });
    expect(result).toMatchObject({ ok: false, reason: 'ResponseTooLarge' });
    if (result.ok) return;
    expect(result.message).toContain(what);
    expect(result.message).toContain('--upstream-max-message-bytes');
    await waitFor(() => hostile.streaming === 0, { what: 'the hostile stream to be closed' });
  }, 15_000);

  it('caps the HTTP+SSE transport\'s stream too', async () => {
    const result = await discover(target(hostile.url('endless-event'), { fixedTransport: 'sse' }), { limits: LIMITS });
    expect(result).toMatchObject({ ok: false, reason: 'ResponseTooLarge', message: expect.stringContaining('over HTTP+SSE') });
    await waitFor(() => hostile.streaming === 0, { what: 'the hostile stream to be closed' });
  }, 15_000);

  it('a 1,000,000-tool answer under a cap that admits it fails on the count, without a stack overflow', async () => {
    const result = await discover(target(hostile.url('million-tools')), { limits: { maxMessageBytes: 128 * 1024 * 1024, maxResponseBytes: 128 * 1024 * 1024 } });
    expect(result).toMatchObject({ ok: false, reason: 'ResponseTooLarge', message: expect.stringContaining(`more than ${MAX_TOOLS} tools`) });
  }, 60_000);

  it('caps an event stream as a whole in discovery (--upstream-max-response-bytes)', async () => {
    // Events of 1 KiB each fit the message cap; the stream as a whole does not.
    const result = await discover(target(hostile.url('endless-event')), { limits: { maxMessageBytes: 64 * 1024 * 1024, maxResponseBytes: 256 * 1024 } });
    expect(result).toMatchObject({ ok: false, reason: 'ResponseTooLarge', message: expect.stringContaining('--upstream-max-response-bytes') });
  }, 15_000);

  it(`keeps at most ${MAX_TOOLS} tools and says so`, async () => {
    const server = await startMcpServer({ transport: 'streamable-http', tools: MAX_TOOLS + 1 });
    try {
      const result = await discover(target(server.url));
      expect(result).toMatchObject({ ok: false, reason: 'ResponseTooLarge', message: expect.stringContaining(`keeps at most ${MAX_TOOLS}`) });
    } finally {
      await server.close();
    }
  }, 30_000);

  it('names no key of an internal service\'s JSON answer', async () => {
    const result = await discover(target(hostile.url('internal-json'), { fixedTransport: undefined }), { limits: LIMITS });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.reason).toBe('ProtocolError');
    for (const key of [...Object.keys(INTERNAL_BODY).filter((k) => k !== 'jsonrpc'), 'email', 'root@internal.example']) expect(result.message).not.toContain(key);
    // No dump of the answer's shape either (a schema error lists it as JSON).
    expect(result.message).not.toMatch(/["{[]/);
    expect(result.message).toContain('not a valid MCP message');
  }, 15_000);
});
