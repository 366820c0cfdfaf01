// What the store's in-memory ref index holds per resource: the ref and a frozen copy of its source, with
// hidden classes shared between resources (a frozen spread copy would hold one of its own per resource).
// Counted as heap after a full collection, the inputs made beforehand.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { SourceRef } from '../../src/domain/resource.js';
import { refOf } from '../../src/store/sqlite/ref-index.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

function heapAfterGc(): number {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

it('a ref of a file-managed resource costs under 200 B beyond its strings', () => {
  const N = 20_000;
  const fqns = Array.from({ length: N }, (_, i) => `default:mcp-server:s-${i}`);
  // Sources as the store reads them (parsed from a row), one file per ten resources.
  const sources = fqns.map((_, i) => JSON.parse(JSON.stringify({ kind: 'file', root: '/srv/manifests', path: `team/f-${Math.floor(i / 10)}.yaml`, document: i % 10 })) as SourceRef);
  const before = heapAfterGc();
  const refs = fqns.map((fqn, i) => refOf(fqn, fqn, 'default', fqn, 1, sources[i]!));
  const perRef = (heapAfterGc() - before) / N;
  expect(refs[7]!.source).toEqual(sources[7]);
  expect(Object.isFrozen(refs[7]!.source)).toBe(true);
  expect(refs[7]!.source).not.toBe(sources[7]);
  expect(perRef).toBeGreaterThan(0);
  expect(perRef).toBeLessThan(200);
});
