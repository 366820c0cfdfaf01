// decideHold: when a file that would prune is applied, and when it is held. Pure, table-driven.
import { decideHold, type HoldInput } from '../../src/sources/prune-hold.js';

const QUIET = 1000;
const held = (content: string | null, since: number, dropped = ['a']) => ({ content, since, dropped });

describe('decideHold', () => {
  const cases: [string, HoldInput, ReturnType<typeof decideHold>][] = [
    ['nothing dropped: applied', { content: 'h1', dropped: [], previous: undefined, now: 0, quietMs: QUIET }, { kind: 'apply' }],
    ['nothing dropped any more: applied, the hold ends', { content: 'h2', dropped: [], previous: held('h1', 0), now: 10, quietMs: QUIET }, { kind: 'apply' }],
    ['quiet period 0: applied at once', { content: null, dropped: ['a'], previous: undefined, now: 0, quietMs: 0 }, { kind: 'apply' }],
    [
      'first read that drops a server: held from now',
      { content: 'h1', dropped: ['b', 'a'], previous: undefined, now: 500, quietMs: QUIET },
      { kind: 'hold', hold: { content: 'h1', since: 500, dropped: ['a', 'b'] }, dueAt: 1500 },
    ],
    [
      'a file that is gone: held like any other',
      { content: null, dropped: ['a'], previous: undefined, now: 0, quietMs: QUIET },
      { kind: 'hold', hold: held(null, 0), dueAt: 1000 },
    ],
    [
      'same content before the quiet period ends: still held, since unchanged',
      { content: 'h1', dropped: ['a'], previous: held('h1', 0), now: 999, quietMs: QUIET },
      { kind: 'hold', hold: held('h1', 0), dueAt: 1000 },
    ],
    ['same content once the quiet period has passed: the re-read confirms, applied', { content: 'h1', dropped: ['a'], previous: held('h1', 0), now: 1000, quietMs: QUIET }, { kind: 'apply' }],
    ['still gone after the quiet period: applied (pruned)', { content: null, dropped: ['a'], previous: held(null, 0), now: 5000, quietMs: QUIET }, { kind: 'apply' }],
    [
      'the content changed meanwhile: the quiet period starts again',
      { content: 'h2', dropped: ['a'], previous: held('h1', 0), now: 1500, quietMs: QUIET },
      { kind: 'hold', hold: held('h2', 1500), dueAt: 2500 },
    ],
    [
      'gone, then back with other content: starts again',
      { content: 'h1', dropped: ['a'], previous: held(null, 0), now: 2000, quietMs: QUIET },
      { kind: 'hold', hold: held('h1', 2000), dueAt: 3000 },
    ],
  ];
  it.each(cases)('%s', (_what, input, expected) => {
    expect(decideHold(input)).toEqual(expected);
  });
});
