// mcpctl validate: for a name declared twice, the file blamed does not depend on the order of the -f
// arguments: as in a watched directory, the first path declares it and the later one is refused.
import { runValidate } from '../../src/cli/validate.js';
import { remoteYaml, workspace } from './cli-support.js';

describe('mcpctl validate: a duplicate name across -f arguments', () => {
  it.each([
    [['-f', 'm/b.yaml', '-f', 'm/a.yaml']],
    [['-f', 'm/a.yaml', '-f', 'm/b.yaml']],
  ])('blames the later path whatever the order (%j)', async (args) => {
    const ws = workspace();
    try {
      ws.write('m/a.yaml', remoteYaml('twice', { description: 'first' }));
      ws.write('m/b.yaml', remoteYaml('twice', { description: 'second' }));
      const r = await ws.run(runValidate, args);
      expect(r.code).toBe(1);
      expect(r.stdout).toMatch(/^m\/b\.yaml:\d+:\d+: \/name: "twice" is already declared in m\/a\.yaml \(document 0\)/m);
      expect(r.stdout).not.toMatch(/^m\/a\.yaml:/m);
    } finally {
      ws.dispose();
    }
  });
});
