// mcpctl watch tells its user when a file of a watched directory is refused (a refused file writes nothing
// the server stream could carry), once per failure, and once more when the file is no longer refused.
import { join } from 'node:path';
import { startTestControlPlane, waitFor, type TestControlPlane } from '../support/control-plane.js';
import { watching } from '../support/mcpctl-watch.js';
import { serverYaml, tempDir, writeFile } from '../sources/helpers.js';

describe('mcpctl watch: refused files', () => {
  let cp: TestControlPlane;
  let dir: string;
  let cleanup: () => void;
  beforeEach(async () => {
    ({ dir, cleanup } = tempDir());
    writeFile(dir, 'good.yaml', serverYaml('good'));
    cp = await startTestControlPlane({ manifests: [dir], args: ['--resync-interval', '0'] });
  });
  afterEach(async () => {
    await cp.dispose();
    cleanup();
  });

  it('prints FILE-ERROR with file:line:col when a file is refused, and FILE-OK when it is fixed', async () => {
    const w = watching(cp.url, [], { sourcesIntervalMs: 20 });
    const file = join(dir, 'broken.yaml');
    writeFile(dir, 'broken.yaml', serverYaml('broken', 'd', 'not a url'));
    const error = await waitFor(() => w.lines().find((l) => l.includes('FILE-ERROR')), { what: `FILE-ERROR in ${JSON.stringify(w.out)}` });
    expect(error).toContain(`FILE-ERROR  ${file}  1 error(s), not applied: ${file}:4:1: /url: must be an absolute http:// or https:// URL`);

    writeFile(dir, 'broken.yaml', serverYaml('broken'));
    await waitFor(() => w.lines().some((l) => l.includes(`FILE-OK  ${file}`)), { what: `FILE-OK in ${JSON.stringify(w.out)}` });
    await waitFor(() => w.lines().some((l) => /ADDED\s+broken/.test(l)), { what: 'the server of the fixed file' });
    // Polled many times meanwhile, each failure was printed once.
    expect(w.lines().filter((l) => l.includes('FILE-ERROR'))).toHaveLength(1);
    w.stop();
    expect(await w.done).toBe(0);
  });

  it('-o json: FILE_ERROR and FILE_OK objects; with NAMEs, only files that declare one of them', async () => {
    const all = watching(cp.url, ['-o', 'json'], { sourcesIntervalMs: 20 });
    const named = watching(cp.url, ['-o', 'json', 'good'], { sourcesIntervalMs: 20 });
    writeFile(dir, 'good.yaml', serverYaml('good', 'd', 'not a url'));
    writeFile(dir, 'other.yaml', serverYaml('other', 'd', 'not a url'));
    const events = () => all.lines().map((l) => JSON.parse(l) as { type: string; object: { path?: string; errors?: unknown[] } });
    await waitFor(() => events().filter((e) => e.type === 'FILE_ERROR').length === 2, { what: `two FILE_ERROR in ${JSON.stringify(all.out)}` });
    expect(events().find((e) => e.object.path === join(dir, 'good.yaml'))).toMatchObject({ type: 'FILE_ERROR', object: { errors: [expect.objectContaining({ line: 4, col: 1, pointer: '/url' })] } });
    await waitFor(() => named.lines().some((l) => l.includes('FILE_ERROR')), { what: 'FILE_ERROR for good' });
    expect(named.lines().filter((l) => l.includes('FILE_ERROR')).map((l) => (JSON.parse(l) as { object: { path: string } }).object.path)).toEqual([join(dir, 'good.yaml')]);
    all.stop();
    named.stop();
    expect(await all.done).toBe(0);
    expect(await named.done).toBe(0);
  });
});
