// planBatch, table-tested: inventories and readings written out by hand, no store, no files.
import type { ValidatedManifest } from '../../src/manifest/index.js';
import { planBatch, type BatchInput, type BatchPlan, type KnownFile } from '../../src/sources/batch-plan.js';
import type { PruneHold } from '../../src/sources/prune-hold.js';
import type { DeclaredDocument, FileReading, SourceFileError } from '../../src/sources/read-manifest-file.js';

/** name → path: what the store holds for the root. */
type Stored = Record<string, string>;

const doc = (name: string, document = 0): DeclaredDocument => ({
  document,
  name,
  manifest: { type: 'mcp-server/remote', name } as unknown as ValidatedManifest,
  locate: () => ({ line: document * 10 + 2, col: 1 }),
});
/** A file that reads cleanly, declaring these names (one document each). */
const clean = (path: string, ...names: string[]): FileReading => ({
  kind: 'read',
  path,
  contentHash: `sha256:${path}:${names.join(',')}`,
  documents: names.map((n, i) => doc(n, i)),
  names,
  errors: [],
});
/** A file refused as read (a schema error), declaring these names. */
const broken = (path: string, ...names: string[]): FileReading => ({
  kind: 'read',
  path,
  contentHash: `sha256:${path}:broken`,
  documents: [],
  names,
  errors: [{ path, line: 4, col: 6, pointer: '/url', message: 'must be a URL' }],
});
const gone = (path: string): FileReading => ({ kind: 'missing', path });

interface Case {
  stored: Stored;
  readings: FileReading[];
  /** Files earlier batches refused, with the names they declared. */
  refusedBefore?: Record<string, string[]>;
  /** Files earlier batches read cleanly, with their names (default: from `stored`). */
  knownClean?: Record<string, string[]>;
  holds?: Record<string, PruneHold>;
  now?: number;
  quietMs?: number;
  allowEmptyPrune?: boolean;
  refusedAtApply?: Record<string, SourceFileError[]>;
  forcedDeletes?: Record<string, string>;
}

function plan(c: Case): BatchPlan {
  const known = new Map<string, KnownFile>();
  const byPath = new Map<string, string[]>();
  for (const [name, path] of Object.entries(c.stored)) byPath.set(path, [...(byPath.get(path) ?? []), name]);
  for (const [path, names] of Object.entries(c.knownClean ?? Object.fromEntries(byPath))) known.set(path, { names: new Set(names), errors: [] });
  for (const [path, names] of Object.entries(c.refusedBefore ?? {})) known.set(path, { names: new Set(names), errors: ['refused'] });
  const input: BatchInput = {
    inventory: {
      size: Object.keys(c.stored).length,
      pathOf: (name) => c.stored[name],
      namesAt: (path) => byPath.get(path) ?? [],
    },
    readings: c.readings,
    known,
    refusedBefore: Object.keys(c.refusedBefore ?? {}),
    holds: new Map(Object.entries(c.holds ?? {})),
    now: c.now ?? 1000,
    quietMs: c.quietMs ?? 0,
    allowEmptyPrune: c.allowEmptyPrune ?? false,
    ...(c.refusedAtApply ? { refusedAtApply: new Map(Object.entries(c.refusedAtApply)) } : {}),
    ...(c.forcedDeletes ? { forcedDeletes: new Map(Object.entries(c.forcedDeletes).map(([name, by]) => [name, { by }])) } : {}),
  };
  return planBatch(input);
}

/** The plan in a few words: groups of paths, refused paths with their first message, pruned and held back names. */
function summary(p: BatchPlan) {
  return {
    apply: p.apply.map((g) => g.files.map((f) => f.path)),
    refused: Object.fromEntries([...p.refused].map(([path, errors]) => [path, errors[0]!.message])),
    prune: p.prune.map((e) => e.name),
    heldBack: p.heldBack.map((e) => e.name),
  };
}

const none = { refused: {}, prune: [], heldBack: [] };

describe('planBatch', () => {
  const table: [string, Case, ReturnType<typeof summary>][] = [
    ['a new file is applied', { stored: {}, readings: [clean('a.yaml', 'x')] }, { ...none, apply: [['a.yaml']] }],
    ['an unchanged file is applied again (intake answers UNCHANGED)', { stored: { x: 'a.yaml', k: 'k.yaml' }, readings: [clean('a.yaml', 'x')] }, { ...none, apply: [['a.yaml']] }],
    [
      'a file that drops a name prunes it',
      { stored: { x: 'a.yaml', y: 'a.yaml', k: 'k.yaml' }, readings: [clean('a.yaml', 'x')] },
      { ...none, apply: [['a.yaml']], prune: ['y'] },
    ],
    [
      'a file that is gone prunes its names',
      { stored: { x: 'a.yaml', k: 'k.yaml' }, readings: [gone('a.yaml')] },
      { ...none, apply: [], prune: ['x'] },
    ],
    [
      'a refused file keeps its servers and prunes nothing',
      { stored: { x: 'a.yaml', y: 'a.yaml', k: 'k.yaml' }, readings: [broken('a.yaml', 'x')] },
      { ...none, apply: [], refused: { 'a.yaml': 'must be a URL' } },
    ],
    [
      'two new claims of one name: the first path wins',
      { stored: {}, readings: [clean('a.yaml', 'x'), clean('b.yaml', 'x')] },
      {
        ...none,
        apply: [['a.yaml']],
        refused: { 'b.yaml': 'MCP server "x" is already declared in a.yaml; a name may be declared by one file only: rename it here or remove it from a.yaml' },
      },
    ],
    [
      'the owning file outside the batch keeps its name',
      { stored: { x: 'b.yaml' }, readings: [clean('a.yaml', 'x')] },
      { ...none, apply: [], refused: { 'a.yaml': expect.stringContaining('already declared in b.yaml') } },
    ],
    [
      'a refused owner keeps its name against a clean newcomer',
      { stored: { x: 'a.yaml' }, readings: [broken('a.yaml', 'x'), clean('b.yaml', 'x')] },
      { ...none, apply: [], refused: { 'a.yaml': 'must be a URL', 'b.yaml': expect.stringContaining('already declared in a.yaml') } },
    ],
    [
      'a name moving between files of the batch: the taker goes after the holder, nothing is pruned',
      { stored: { x: 'b.yaml', k: 'k.yaml' }, readings: [clean('a.yaml', 'x'), clean('b.yaml', 'y')] },
      { ...none, apply: [['b.yaml'], ['a.yaml']] },
    ],
    [
      'files that swap names are applied together',
      { stored: { x: 'a.yaml', y: 'b.yaml' }, readings: [clean('a.yaml', 'y'), clean('b.yaml', 'x')] },
      { ...none, apply: [['a.yaml', 'b.yaml']] },
    ],
    [
      'a file intake refused: a file taking a name from it is refused too, and its names stay',
      {
        stored: { x: 'a.yaml', k: 'k.yaml' },
        readings: [clean('a.yaml', 'api-owned'), clean('b.yaml', 'x')],
        refusedAtApply: { 'a.yaml': [{ path: 'a.yaml', line: 2, col: 1, pointer: '/name', message: 'managed by the API' }] },
      },
      {
        ...none,
        apply: [],
        refused: {
          'a.yaml': 'managed by the API',
          'b.yaml': 'MCP server "x" stays declared in a.yaml, which has errors; fix a.yaml first, then declare it here',
        },
      },
    ],
    [
      'a swap where one file is refused by intake: the other is refused too',
      {
        stored: { x: 'a.yaml', y: 'b.yaml' },
        readings: [clean('a.yaml', 'y'), clean('b.yaml', 'x')],
        refusedAtApply: { 'b.yaml': [{ path: 'b.yaml', line: 2, col: 1, pointer: '/name', message: 'refused' }] },
      },
      { ...none, apply: [], refused: { 'a.yaml': expect.stringContaining('stays declared in b.yaml'), 'b.yaml': 'refused' } },
    ],
    [
      'a prune that would leave the root empty is held back',
      { stored: { x: 'a.yaml', y: 'b.yaml' }, readings: [gone('a.yaml'), gone('b.yaml')] },
      { ...none, apply: [], heldBack: ['x', 'y'] },
    ],
    [
      '...unless allowed',
      { stored: { x: 'a.yaml', y: 'b.yaml' }, readings: [gone('a.yaml'), gone('b.yaml')], allowEmptyPrune: true },
      { ...none, apply: [], prune: ['x', 'y'] },
    ],
    [
      'a new name in the batch keeps the root from being empty',
      { stored: { x: 'a.yaml' }, readings: [gone('a.yaml'), clean('b.yaml', 'z')] },
      { ...none, apply: [['b.yaml']], prune: ['x'] },
    ],
    [
      'a name a refused file of the batch declares is not pruned',
      { stored: { x: 'a.yaml', k: 'k.yaml' }, readings: [clean('a.yaml', 'y'), broken('b.yaml', 'x')] },
      { ...none, apply: [['a.yaml']], refused: { 'b.yaml': 'must be a URL' } },
    ],
    [
      'a name a refused file outside the batch declares is not pruned',
      { stored: { x: 'a.yaml', k: 'k.yaml' }, readings: [clean('a.yaml', 'y')], refusedBefore: { 'b.yaml': ['x'] } },
      { ...none, apply: [['a.yaml']] },
    ],
    [
      'a refused file still declares what it declared before: a refused read lets no prune through',
      { stored: { x: 'a.yaml', k: 'k.yaml' }, readings: [clean('a.yaml', 'y'), broken('b.yaml', 'other')], refusedBefore: { 'b.yaml': ['x'] } },
      { ...none, apply: [['a.yaml']], refused: { 'b.yaml': 'must be a URL' } },
    ],
    [
      '...until it reads cleanly',
      { stored: { x: 'a.yaml', k: 'k.yaml' }, readings: [clean('a.yaml', 'y'), clean('b.yaml', 'other')], refusedBefore: { 'b.yaml': ['x'] } },
      { ...none, apply: [['a.yaml'], ['b.yaml']], prune: ['x'] },
    ],
    [
      '...or is gone',
      { stored: { x: 'a.yaml', k: 'k.yaml' }, readings: [clean('a.yaml', 'y'), gone('b.yaml')], refusedBefore: { 'b.yaml': ['x'] } },
      { ...none, apply: [['a.yaml']], prune: ['x'] },
    ],
    [
      'with a quiet period, a file that would prune is held (not applied, nothing pruned)',
      { stored: { x: 'a.yaml', y: 'a.yaml', k: 'k.yaml' }, readings: [clean('a.yaml', 'x')], quietMs: 5000 },
      { ...none, apply: [] },
    ],
    [
      '...and once it has read the same for the quiet period, it is applied and prunes',
      {
        stored: { x: 'a.yaml', y: 'a.yaml', k: 'k.yaml' },
        readings: [clean('a.yaml', 'x')],
        quietMs: 5000,
        now: 6000,
        holds: { 'a.yaml': { content: 'sha256:a.yaml:x', since: 1000, dropped: ['y'] } },
      },
      { ...none, apply: [['a.yaml']], prune: ['y'] },
    ],
    [
      'with a quiet period, a name one file drops and another declares moves at once (nothing is held)',
      { stored: { x: 'a.yaml', y: 'a.yaml', k: 'k.yaml' }, readings: [clean('a.yaml', 'x'), clean('b.yaml', 'y')], quietMs: 5000 },
      { ...none, apply: [['a.yaml'], ['b.yaml']] },
    ],
    [
      'a file held before is applied once a file of the batch declares what it dropped',
      {
        stored: { x: 'a.yaml', y: 'a.yaml', k: 'k.yaml' },
        readings: [clean('a.yaml', 'x'), clean('b.yaml', 'y'), clean('c.yaml', 'z')],
        quietMs: 5000,
        holds: { 'a.yaml': { content: 'sha256:a.yaml:x', since: 900, dropped: ['y'] } },
      },
      { ...none, apply: [['a.yaml'], ['b.yaml'], ['c.yaml']] },
    ],
    [
      'a name deleted through the API with force: a file declaring it is refused, and its other servers are kept',
      { stored: { y: 'a.yaml', k: 'k.yaml' }, readings: [clean('a.yaml', 'x', 'y')], forcedDeletes: { x: 'admin' } },
      {
        ...none,
        apply: [],
        refused: { 'a.yaml': 'MCP server "x" was deleted through the API by admin (force); this file may not create it again while it declares it: remove it from this file (declaring it again afterwards creates it anew)' },
      },
    ],
  ];

  it.each(table)('%s', (_, c, expected) => {
    expect(summary(plan(c))).toEqual(expected);
  });

  it('records the hold of a file that would prune, with what it dropped and since when', () => {
    const p = plan({ stored: { x: 'a.yaml', y: 'a.yaml', k: 'k.yaml' }, readings: [clean('a.yaml', 'x')], quietMs: 5000, now: 42 });
    expect([...p.holds]).toEqual([['a.yaml', { content: 'sha256:a.yaml:x', since: 42, dropped: ['y'] }]]);
  });

  it('a refused file declares from now on what it reads as and what it declared before, as far as it is stored', () => {
    const p = plan({ stored: { x: 'a.yaml', k: 'k.yaml' }, readings: [broken('b.yaml', 'new')], refusedBefore: { 'b.yaml': ['x', 'long-gone'] } });
    expect([...p.declared.get('b.yaml')!].sort()).toEqual(['new', 'x']);
  });

  it('the takeover order names what each group waits for', () => {
    const p = plan({ stored: { x: 'b.yaml', k: 'k.yaml' }, readings: [clean('a.yaml', 'x'), clean('b.yaml', 'y')] });
    expect(p.apply.map((g) => g.takesFrom)).toEqual([[], ['b.yaml']]);
  });
});
