// Per-token rate limit on the write routes, through the real server.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, parseServeConfig, parseRate } from '../../src/config.js';
import { remoteManifest, startTestControlPlane, type TestControlPlane } from '../support/control-plane.js';
import { FakeClock } from '../support/fake-clock.js';
import { writeTokensFile } from './support.js';

const API = '/api/svc/v1/mcp-servers';

describe('--write-rate-limit', () => {
  it.each([
    ['20/s', { count: 20, perMs: 1000 }],
    ['300/m', { count: 300, perMs: 60_000 }],
    ['1000 / hour', { count: 1000, perMs: 3_600_000 }],
    ['off', undefined],
    ['0', undefined],
  ])('parses %j', (text, expected) => {
    expect(parseRate(text)).toEqual(expected);
  });

  it('defaults to 20/s and names the flag when wrong', () => {
    expect(parseServeConfig(['--no-manifests'], {}).writeRateLimit).toEqual({ count: 20, perMs: 1000 });
    expect(parseServeConfig(['--no-manifests'], { MCP_CP_WRITE_RATE_LIMIT: '5/m' }).writeRateLimit).toEqual({ count: 5, perMs: 60_000 });
    for (const bad of ['fast', '20', '-1/s', '1.5/s', '20/d']) {
      expect(() => parseServeConfig(['--no-manifests', `--write-rate-limit=${bad}`], {})).toThrow(ConfigError);
      expect(() => parseServeConfig(['--no-manifests', `--write-rate-limit=${bad}`], {})).toThrow(/^--write-rate-limit: /);
    }
  });

  describe('on the real server', () => {
    let cp: TestControlPlane;
    let dir: string;
    // The buckets refill only when the test moves this clock.
    const clock = new FakeClock(Date.parse('2026-01-01T00:00:00Z'));
    const other = 'other-token-0123456789abcdef';
    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), 'mcp-rate-'));
      writeTokensFile(join(dir, 'tokens.yaml'), [{ token: other, subject: 'user:other@example.com', role: 'editor' }]);
      cp = await startTestControlPlane({ args: ['--write-rate-limit', '3/s', '--tokens-file', join(dir, 'tokens.yaml'), '--resync-interval', '0'], clock });
    });
    afterAll(async () => {
      await cp.dispose();
      rmSync(dir, { recursive: true, force: true });
    });

    it('answers 429 with Retry-After once a token used its writes; reads, other tokens and later writes go through', async () => {
      const write = (i: number, token?: string) =>
        cp.api(API, { method: 'PUT', body: { manifest: remoteManifest({ name: `rl-${i}`, collaborators: [{ subject: 'user:other@example.com', role_id: 'mcp-server-manager' }] }) }, ...(token ? { token } : {}) });
      const statuses = [];
      for (let i = 0; i < 5; i++) statuses.push((await write(i)).status);
      expect(statuses.slice(0, 3)).toEqual([200, 200, 200]);
      expect(statuses.slice(3)).toContain(429);
      const limited = await write(9);
      expect(limited.status).toBe(429);
      expect(limited.headers.get('retry-after')).toBe('1');
      expect(limited.json.error).toEqual({ code: 'TooManyRequests', message: expect.stringContaining('Too many writes with this token (limit 3 per 1 s)') });
      expect((await cp.api(`${API}/name/rl-9`)).status).toBe(404); // refused before intake
      // DELETE counts too.
      expect((await cp.api(`${API}/name/rl-0`, { method: 'DELETE' })).status).toBe(429);
      // Reads are not limited; another token has its own bucket.
      for (let i = 0; i < 10; i++) expect((await cp.api(API)).status).toBe(200);
      expect((await write(20, other)).status).toBe(200);
      // The bucket refills: at 3 per second, one write a third of a second later, three after a second.
      clock.advance(300);
      expect((await write(30)).status).toBe(429);
      clock.advance(40);
      expect((await write(31)).status).toBe(200);
      expect((await write(32)).status).toBe(429);
      clock.advance(1000);
      expect([(await write(33)).status, (await write(34)).status, (await write(35)).status, (await write(36)).status]).toEqual([200, 200, 200, 429]);
    });
  });

  it('gives a token one budget across both APIs, refused in the envelope of each API', async () => {
    // 2 writes per hour: nothing refills while the test runs.
    const cp = await startTestControlPlane({ args: ['--write-rate-limit', '2/h', '--resync-interval', '0'] });
    try {
      const gaiaCreate = (i: number) =>
        cp.api('/api/mcp/servers', {
          method: 'POST',
          body: { projectId: 'default', name: `shared budget ${i}`, transportType: 'http', url: 'http://127.0.0.1:9/mcp' },
        });
      expect((await gaiaCreate(1)).status).toBe(201);
      expect((await cp.api(API, { method: 'PUT', body: { manifest: remoteManifest({ name: 'rl-shared' }) } })).status).toBe(200);
      // The budget is spent across both APIs: each refuses in its own envelope.
      const gaiaLimited = await gaiaCreate(2);
      expect(gaiaLimited.status).toBe(429);
      expect(Number(gaiaLimited.headers.get('retry-after'))).toBeGreaterThan(1000);
      expect(gaiaLimited.json).toEqual({ success: false, message: expect.stringContaining('Too many writes with this token') });
      const tfLimited = await cp.api(API, { method: 'PUT', body: { manifest: remoteManifest({ name: 'rl-shared-2' }) } });
      expect(tfLimited.status).toBe(429);
      expect(tfLimited.json.error.code).toBe('TooManyRequests');
    } finally {
      await cp.dispose();
    }
  });
});
