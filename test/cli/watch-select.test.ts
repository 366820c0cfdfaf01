// mcpctl watch with several names and with -l selectors, against the real server.
import { remoteManifest, startTestControlPlane, waitFor, type TestControlPlane } from '../support/control-plane.js';
import { watching } from '../support/mcpctl-watch.js';

const SERVERS = '/api/svc/v1/mcp-servers';

describe('mcpctl watch: choosing servers', () => {
  let cp: TestControlPlane;
  beforeEach(async () => {
    cp = await startTestControlPlane({ args: ['--resync-interval', '0'] });
  });
  afterEach(async () => {
    await cp.dispose();
  });

  const put = (name: string, tags: Record<string, string>) => cp.api(SERVERS, { method: 'PUT', body: { manifest: remoteManifest({ name, tags }) } });

  it('prints only the servers named, or whose tags match -l (their deletion too)', async () => {
    await put('one', { team: 'blue' });
    await put('two', { team: 'red' });
    const named = watching(cp.url, ['-o', 'json', 'one', 'three', 'four']);
    const selected = watching(cp.url, ['-o', 'json', '-l', 'team=blue']);
    await put('three', { team: 'blue' });
    await cp.api(`${SERVERS}/name/one`, { method: 'DELETE' });
    await cp.api(`${SERVERS}/name/two`, { method: 'DELETE' });
    // Events arrive in order: once "four" is seen, two's deletion has gone by.
    await put('four', { team: 'blue' });
    await waitFor(() => named.seen().includes('ADDED four') && selected.seen().includes('ADDED four'), {
      what: `ADDED four in both watches; got ${JSON.stringify([named.out, selected.out])}`,
    });
    // Each server's first event is ADDED; status changes may add MODIFIED lines in between.
    for (const w of [named, selected]) {
      expect(w.seen().some((s) => s.endsWith(' two'))).toBe(false);
      expect(w.seen()).toContain('ADDED one');
      expect(w.seen()).toContain('ADDED three');
      expect(w.seen()).toContain('DELETED one');
    }
    named.stop();
    selected.stop();
    expect(await named.done).toBe(0);
    expect(await selected.done).toBe(0);
  });
});
