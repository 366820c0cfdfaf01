// Discovery records of servers that found the same tools hold one copy of them. Counted as heap after a
// full collection: N records of one list (each discovery parsing its own copy, as a real one does) against
// N records of N distinct lists, and the lists' own size measured beside them.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { DiscoveryResult } from '../../src/discovery/index.js';
import { sharedValues } from '../../src/discovery/shared-results.js';
import { silentLogger } from '../../src/domain/logger.js';
import { DiscoveryManager, type DiscoveryOutcome } from '../../src/reconcile/discovery-manager.js';
import type { UpstreamTool } from '../../src/upstream/types.js';
import { FakeClock, flushPromises } from '../support/fake-clock.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const N = 2000;

/** A realistic list of four tools; `variant` changes every description (a distinct list), not the schemas. */
function toolsText(variant: string): string {
  const tools = ['search', 'get_record', 'update_record', 'delete_record'].map((name, i) => ({
    name,
    description: `${name.replace('_', ' ')} in the catalogue${variant}: ${'looks through every shelf and answers what it finds. '.repeat(2)}`,
    inputSchema: {
      type: 'object',
      properties: { id: { type: 'string', description: 'The record id.' }, limit: { type: 'integer', minimum: 1, maximum: 100 + i } },
      required: ['id'],
    },
    annotations: { readOnlyHint: i < 2 },
  }));
  return JSON.stringify(tools);
}

function result(text: string): DiscoveryResult {
  return {
    ok: true,
    transport: 'streamable-http',
    serverInfo: { name: 'catalogue', version: '1.0.0' },
    capabilities: JSON.parse('{"tools":{"listChanged":true}}'),
    tools: JSON.parse(text) as UpstreamTool[],
    authStatus: { status: 'authentication_not_required', method: null, message: '' },
  };
}

function heapAfterGc(): number {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

/** The heap N settled records hold: every server discovered (its job answering `textOf(i)`), less the heap once they are forgotten. */
async function recordsHeap(textOf: (i: number) => string): Promise<number> {
  const manager = new DiscoveryManager({ clock: new FakeClock(0), concurrency: 64, intervalMs: 300_000, enqueue: () => undefined, logger: silentLogger });
  const key = (i: number) => `default:mcp-server:s-${i}`;
  for (let i = 0; i < N; i++) manager.ensure(key(i), 'h', async (): Promise<DiscoveryOutcome> => ({ result: result(textOf(i)) }));
  for (let i = 0; i < 200 && [...Array(N).keys()].some((j) => !manager.state(key(j), 'h').record); i++) await flushPromises();
  for (let i = 0; i < N; i++) expect(manager.state(key(i), 'h').record?.outcome.result.ok).toBe(true);
  const withRecords = heapAfterGc();
  for (let i = 0; i < N; i++) manager.forget(key(i));
  manager.stop();
  return withRecords - heapAfterGc();
}

it('N servers that found the same list hold it once; distinct lists still share their schemas', async () => {
  // What one copy of a list costs on the heap, measured as N held copies.
  const base = heapAfterGc();
  const copies = Array.from({ length: N }, (_, i) => JSON.parse(toolsText(` ${i}`)) as unknown);
  const listBytes = (heapAfterGc() - base) / N;
  expect(copies).toHaveLength(N);
  copies.length = 0;

  const same = toolsText('');
  const shared = (await recordsHeap(() => same)) / N;
  const distinct = (await recordsHeap((i) => toolsText(` ${i}`))) / N;
  // Shared: the record's own bookkeeping only, far below one list.
  expect(shared).toBeLessThan(listBytes / 3);
  // Distinct lists: each holds its names and descriptions, but not its own schemas and annotations, and
  // its frozen tools share V8's hidden classes (a frozen spread copy would hold one of its own: ≈+40 %).
  expect(distinct - shared).toBeGreaterThan(listBytes / 4);
  expect(distinct - shared).toBeLessThan(listBytes * 0.7);
}, 60_000);

it('a shared list is frozen, and let go once no record holds it', async () => {
  const manager = new DiscoveryManager({ clock: new FakeClock(0), concurrency: 4, intervalMs: 300_000, enqueue: () => undefined, logger: silentLogger });
  const text = toolsText(' frozen');
  manager.ensure('k1', 'h', async () => ({ result: result(text) }));
  manager.ensure('k2', 'h', async () => ({ result: result(text) }));
  await flushPromises();
  // In a function of its own, so that no local of the test keeps the list alive.
  const held = ((): WeakRef<readonly UpstreamTool[]> => {
    const a = manager.state('k1', 'h').record!.outcome.result;
    const b = manager.state('k2', 'h').record!.outcome.result;
    if (!a.ok || !b.ok) throw new Error('discovery failed');
    expect(a.tools).toBe(b.tools);
    expect(a.tools).toEqual(JSON.parse(text));
    expect(() => (a.tools as UpstreamTool[]).push({ name: 'x', inputSchema: {} })).toThrow(TypeError);
    expect(() => ((a.tools[0]!.inputSchema as { type: string }).type = 'string')).toThrow(TypeError);
    return new WeakRef(a.tools);
  })();
  // A distinct list shares the schemas it has in common with the others.
  manager.ensure('k3', 'h', async () => ({ result: result(toolsText(' other')) }));
  await flushPromises();
  (() => {
    const [a, c] = [manager.state('k1', 'h').record!.outcome.result, manager.state('k3', 'h').record!.outcome.result];
    if (!a.ok || !c.ok) throw new Error('discovery failed');
    expect(c.tools).not.toBe(a.tools);
    expect(c.tools[1]!.inputSchema).toBe(a.tools[1]!.inputSchema);
    expect(c.tools[1]!.annotations).toBe(a.tools[1]!.annotations);
  })();
  const heldCount = sharedValues();

  manager.forget('k1');
  manager.forget('k2');
  manager.forget('k3');
  manager.stop();
  // Nothing but the table refers to it now: it is collected, and its entry leaves the table once the
  // finalizers run (a task after the collection).
  // (deref() keeps its target alive until the task ends: it is asked once, at the end.)
  for (let i = 0; i < 10; i++) {
    gc();
    await new Promise((r) => setImmediate(r));
  }
  expect(held.deref()).toBeUndefined();
  expect(sharedValues()).toBeLessThan(heldCount);
}, 30_000);
