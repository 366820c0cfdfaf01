// /healthz, /readyz, and structured logs: every line of a reconcile carries its reconcileId and key.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { parseServeConfig } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { startControlPlane } from '../../src/main.js';
import { ADMIN_TOKEN, remoteManifest, startTestControlPlane, waitFor } from '../support/control-plane.js';
import { startMcpServer } from '../support/mcp-servers.js';

describe('health', () => {
  it('/healthz is alive; /readyz is ready once started and not once the store cannot be read', async () => {
    const cp = await startTestControlPlane();
    try {
      const health = await cp.api('/healthz', { token: null });
      expect(health.status).toBe(200);
      expect(health.json).toEqual({ status: 'ok' });
      expect((await cp.api('/readyz', { token: null })).json).toEqual({ status: 'ready' });
      await cp.store.close();
      const notReady = await cp.api('/readyz', { token: null });
      expect(notReady.status).toBe(503);
      expect(notReady.json).toMatchObject({ status: 'not ready', reason: expect.stringMatching(/^the store cannot be read/) });
      expect((await cp.api('/healthz', { token: null })).status).toBe(200);
    } finally {
      await cp.dispose();
    }
  });
});

describe('logs', () => {
  it('writes JSON lines, and every reconcile line carries a reconcile id and the resource key', async () => {
    const lines: Record<string, unknown>[] = [];
    const destination = new Writable({
      write(chunk: Buffer, _enc, done) {
        for (const l of chunk.toString().split('\n')) if (l.trim()) lines.push(JSON.parse(l) as Record<string, unknown>);
        done();
      },
    });
    const upstream = await startMcpServer({ transport: 'streamable-http', tools: 1 });
    const dataDir = mkdtempSync(join(tmpdir(), 'mcp-cp-logs-'));
    const config = parseServeConfig(['--port', '0', '--data-dir', dataDir, '--admin-token', ADMIN_TOKEN, '--no-manifests', '--log-level', 'debug', '--control-plane-nice', '0'], {});
    const cp = await startControlPlane(config, { logger: createLogger({ level: 'debug', destination }) });
    try {
      const put = (manifest: Record<string, unknown>) =>
        fetch(`${cp.url}/api/svc/v1/mcp-servers`, {
          method: 'PUT',
          headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
          body: JSON.stringify({ manifest }),
        });
      expect((await put(remoteManifest({ name: 'good', url: upstream.url }))).status).toBe(200);
      // A reference to a variable that is not set makes the reconcile fail (and the controller retry).
      expect((await put(remoteManifest({ name: 'broken', auth_data: { type: 'header', headers: { 'X-Key': '${env:MCP_CP_TEST_UNSET_VARIABLE}' } } }))).status).toBe(200);
      await waitFor(() => lines.some((l) => l.component === 'reconciler' && l.key === 'default:mcp-server:good'), { what: 'a reconciler line about good' });
      await waitFor(() => lines.some((l) => l.component === 'controller' && l.key === 'default:mcp-server:broken' && l.level === 50), { what: 'the controller retrying broken' });

      const reconcileLines = lines.filter((l) => l.component === 'reconciler' || (l.component === 'controller' && l.key !== undefined));
      expect(reconcileLines.length).toBeGreaterThanOrEqual(3);
      for (const l of reconcileLines) {
        expect(l).toEqual(expect.objectContaining({ reconcileId: expect.stringMatching(/^[0-9a-f-]{36}$/), key: expect.stringMatching(/^default:mcp-server:/), time: expect.any(Number), msg: expect.any(String) }));
      }
      // The controller's line about a failed reconcile names the same reconcile as the reconciler's own line.
      const failed = reconcileLines.find((l) => l.component === 'reconciler' && l.key === 'default:mcp-server:broken' && l.msg === 'reconcile failed')!;
      expect(failed).toBeDefined();
      expect(reconcileLines.some((l) => l.component === 'controller' && l.reconcileId === failed.reconcileId)).toBe(true);
      // Different reconciles, different ids.
      const ids = new Set(reconcileLines.map((l) => l.reconcileId));
      expect(ids.size).toBeGreaterThan(1);
      expect(JSON.stringify(lines)).not.toContain(ADMIN_TOKEN);
    } finally {
      await cp.close();
      await upstream.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
