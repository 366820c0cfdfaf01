// A large or hostile manifest file in a watched directory costs a worker's time, not the event loop's:
// the API answers while it parses, and files over a parse limit get an error naming the limit and line.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MAX_ANCHORS, MAX_KEYS } from '../../src/manifest/parse.js';
import { remoteManifest, startTestControlPlane, waitFor, type TestControlPlane } from '../support/control-plane.js';

/**
 * Parsing is the subject here, not a side cost: a file just under 1 MiB takes a worker seconds of CPU, and
 * tens of seconds on a loaded 2-core machine. The waits inside keep their own deadlines (up to 60 s each);
 * the test may last as long as they do.
 */
const PARSE_TEST_TIMEOUT_MS = 120_000;

const lines = (count: number, line: (i: number) => string): string => Array.from({ length: count }, (_, i) => line(i)).join('');

describe('large manifest files', () => {
  let cp: TestControlPlane;
  let manifests: string;
  beforeAll(async () => {
    manifests = mkdtempSync(join(tmpdir(), 'mcp-large-'));
    cp = await startTestControlPlane({ args: ['--resync-interval', '0'], manifests: [manifests] });
  });
  afterAll(async () => {
    await cp.dispose();
    rmSync(manifests, { recursive: true, force: true });
  });

  const fileErrors = async (path: string) =>
    waitFor(async () => {
      const s = await cp.api('/api/svc/v1/sources');
      const file = s.json.data[0].files.find((f: { path: string }) => f.path === path);
      return file?.errors.length > 0 ? (file.errors as { line: number; col: number; pointer: string; message: string }[]) : undefined;
    }, { what: `errors on ${path}`, timeoutMs: 60_000 });

  it('refuses 60,000 keys and 50,000 anchors with the limit and the line', async () => {
    writeFileSync(join(manifests, 'keys.yaml'), lines(60_000, (i) => `k${i}: v${i}\n`));
    const anchors = lines(50_000, (i) => `- &${i} x\n- *${i}\n`);
    expect(anchors.length).toBeLessThan(1024 * 1024);
    writeFileSync(join(manifests, 'anchors.yaml'), anchors);
    expect(await fileErrors('keys.yaml')).toEqual([{ line: MAX_KEYS + 1, col: expect.any(Number), pointer: '', message: expect.stringContaining(`at most ${MAX_KEYS} mapping keys`) }]);
    expect(await fileErrors('anchors.yaml')).toEqual([{ line: 2 * MAX_ANCHORS + 1, col: 3, pointer: '', message: expect.stringContaining(`at most ${MAX_ANCHORS}`) }]);
    expect((await cp.api('/healthz')).status).toBe(200);
  }, PARSE_TEST_TIMEOUT_MS);

  it('answers /healthz and the API while a large file parses', async () => {
    const pool = cp.parsePool;
    // Just under 1 MiB of YAML that parses (not a manifest): seconds of parsing on a busy machine.
    writeFileSync(join(manifests, 'large.yaml'), lines(260_000, () => '- x\n'));
    await waitFor(() => pool.pending() > 0, { what: 'the parse to start', timeoutMs: 30_000 });
    const health = await cp.api('/healthz');
    const put = await cp.api('/api/svc/v1/mcp-servers', { method: 'PUT', body: { manifest: remoteManifest({ name: 'during-parse' }) } });
    // Both answered while the file was still being parsed.
    expect(pool.pending()).toBeGreaterThan(0);
    expect(health.status).toBe(200);
    expect(put.status).toBe(200);
    expect((await fileErrors('large.yaml'))[0]!.message).toContain('must be an object');
  }, PARSE_TEST_TIMEOUT_MS);
});
