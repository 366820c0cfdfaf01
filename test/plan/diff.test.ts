import { diffDocuments, type DiffOp } from '../../src/plan/index.js';

const secretAt = (...pointers: string[]) => ({ isSecret: (p: string) => pointers.includes(p) });

describe('diffDocuments', () => {
  it.each<[string, unknown, unknown, DiffOp[]]>([
    ['equal documents', { a: 1, b: [1, 2] }, { b: [1, 2], a: 1 }, []],
    ['a replaced scalar', { a: 1 }, { a: 2 }, [{ op: 'replace', path: '/a', from: 1, to: 2 }]],
    ['an added field', { a: 1 }, { a: 1, b: 'x' }, [{ op: 'add', path: '/b', to: 'x' }]],
    ['a removed field', { a: 1, b: 'x' }, { a: 1 }, [{ op: 'remove', path: '/b', from: 'x' }]],
    ['a nested change', { t: { x: 1, y: 2 } }, { t: { x: 1, y: 3 } }, [{ op: 'replace', path: '/t/y', from: 2, to: 3 }]],
    ['a type change', { a: { b: 1 } }, { a: 'flat' }, [{ op: 'replace', path: '/a', from: { b: 1 }, to: 'flat' }]],
    ['keys needing pointer escapes', { 'a/b': 1, 'c~d': 1 }, { 'a/b': 2, 'c~d': 2 }, [
      { op: 'replace', path: '/a~1b', from: 1, to: 2 },
      { op: 'replace', path: '/c~0d', from: 1, to: 2 },
    ]],
    [
      'named items matched by name, not position',
      { tools: [{ name: 'a', disabled: false }, { name: 'c', disabled: false }] },
      { tools: [{ name: 'a', disabled: false }, { name: 'b', disabled: true }, { name: 'c', disabled: true }] },
      [
        { op: 'add', path: '/tools/1', to: { name: 'b', disabled: true } },
        { op: 'replace', path: '/tools/2/disabled', from: false, to: true },
      ],
    ],
    [
      'a removed named item',
      { tools: [{ name: 'a' }, { name: 'b' }] },
      { tools: [{ name: 'b' }] },
      [{ op: 'remove', path: '/tools/0', from: { name: 'a' } }],
    ],
    [
      'unnamed items as a set',
      { c: [{ subject: 'team:a', role_id: 'r' }, { subject: 'team:b', role_id: 'r' }] },
      { c: [{ subject: 'team:b', role_id: 'r' }, { subject: 'team:c', role_id: 'r' }] },
      [
        { op: 'remove', path: '/c/0', from: { subject: 'team:a', role_id: 'r' } },
        { op: 'add', path: '/c/1', to: { subject: 'team:c', role_id: 'r' } },
      ],
    ],
  ])('%s', (_name, before, after, expected) => {
    expect(diffDocuments(before, after)).toEqual(expected);
  });

  const CANARY = 'canary-9d1f';

  it.each<[string, unknown, unknown, string[], DiffOp[]]>([
    ['a changed secret', { h: { K: CANARY } }, { h: { K: `${CANARY}-2` } }, ['/h/K'], [{ op: 'replace', path: '/h/K', secret: true }]],
    ['an added secret', { h: {} }, { h: { K: CANARY } }, ['/h/K'], [{ op: 'add', path: '/h/K', secret: true }]],
    ['a removed secret', { h: { K: CANARY } }, { h: {} }, ['/h/K'], [{ op: 'remove', path: '/h/K', secret: true }]],
    [
      'a whole map of secrets added: walked, so no value rides in the parent',
      {},
      { h: { K: CANARY, L: CANARY } },
      ['/h/K', '/h/L'],
      [
        { op: 'add', path: '/h/K', secret: true },
        { op: 'add', path: '/h/L', secret: true },
      ],
    ],
    [
      'a removed object holding a secret',
      { auth: { type: 'header', headers: { K: CANARY } } },
      {},
      ['/auth/headers/K'],
      [
        { op: 'remove', path: '/auth/headers/K', secret: true },
        { op: 'remove', path: '/auth/type', from: 'header' },
      ],
    ],
    ['an unchanged secret', { h: { K: CANARY } }, { h: { K: CANARY } }, ['/h/K'], []],
  ])('masks %s', (_name, before, after, secrets, expected) => {
    const ops = diffDocuments(before, after, secretAt(...secrets));
    expect(ops).toEqual(expected);
    expect(JSON.stringify(ops)).not.toContain(CANARY);
  });
});
