// mcpctl validate blames, for a name declared twice in a directory, the same file the server does.
import { join } from 'node:path';
import { runValidate } from '../../src/cli/validate.js';
import { ADMIN_TOKEN, startTestControlPlane, waitFor } from '../support/control-plane.js';
import { remoteYaml, workspace } from './cli-support.js';

describe('mcpctl validate: a duplicate name', () => {
  it('is reported on the file the watched directory refuses', async () => {
    const ws = workspace();
    // By full path "a-b.yaml" < "a/z.yaml" ('-' sorts before '/'); a walk directory by directory would see a/ first.
    ws.write('m/a-b.yaml', remoteYaml('twice', { description: 'first' }));
    ws.write('m/a/z.yaml', remoteYaml('twice', { description: 'second' }));
    const cp = await startTestControlPlane({ manifests: [join(ws.dir, 'm')] });
    try {
      const sources = await waitFor(async () => {
        const res = await cp.api('/api/svc/v1/sources', { token: ADMIN_TOKEN });
        const files = (res.json.data[0]?.files ?? []) as { path: string; errors: unknown[] }[];
        return files.length === 2 ? files : undefined;
      }, { what: 'both files synced' });
      const refusedByServer = sources.filter((f) => f.errors.length > 0).map((f) => f.path);
      expect(refusedByServer).toEqual(['a/z.yaml']);

      const r = await ws.run(runValidate, ['-f', 'm']);
      expect(r.code).toBe(1);
      expect(r.stdout).toMatch(/^m\/a\/z\.yaml:\d+:\d+: \/name: "twice" is already declared in m\/a-b\.yaml/m);
    } finally {
      await cp.dispose();
      ws.dispose();
    }
  });
});
