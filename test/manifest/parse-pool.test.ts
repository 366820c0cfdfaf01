// The parse pool: texts are parsed and validated in worker threads, within a time budget; a worker
// over budget is terminated and the text gets an error saying so, and the next text gets a fresh worker.
import { readFileSync } from 'node:fs';
import { MAX_REPORTED_ERRORS as MAX_ERRORS } from '../../src/manifest/error-cap.js';
import { MAX_KEYS } from '../../src/manifest/parse.js';
import { IDLE_MS, ParsePool } from '../../src/manifest/parse-pool.js';
import { outlineLocator } from '../../src/manifest/manifest-documents.js';
import { FakeClock } from '../support/fake-clock.js';

const fixture = readFileSync(new URL('../fixtures/manifests/remote-full.yaml', import.meta.url), 'utf8');

describe('ParsePool', () => {
  let pool: ParsePool;
  let clock: FakeClock;
  beforeEach(() => {
    clock = new FakeClock();
    pool = new ParsePool({ size: 1, budgetMs: 5000, idleMs: IDLE_MS, clock, inlineMaxBytes: 0 });
  });
  afterEach(async () => {
    await pool.close();
  });

  it('answers the documents, validated, with every error positioned and an outline', async () => {
    const text = `${fixture}---\ntype: mcp-server/remote\nname: Not_A_Label\nurl: http://127.0.0.1:9/mcp\n---\nname: [\n`;
    const docs = await pool.readManifests(text, 'yaml');
    expect(docs.map((d) => [d.index, d.valid])).toEqual([[0, true], [1, false], [2, false]]);
    expect((docs[0]!.value as { name: string }).name).toBe('search-tools');
    const secondName = text.split('\n').indexOf('name: Not_A_Label') + 1;
    expect(docs[1]!.errors).toContainEqual(expect.objectContaining({ path: '/name', line: secondName, col: 1, message: expect.stringContaining('DNS label') }));
    expect(docs[1]!.errors.every((e) => e.line !== undefined)).toBe(true);
    // An invalid document's value stays in the worker; its name comes back (a file holds names back from pruning).
    expect(docs[1]).toMatchObject({ value: undefined, name: 'Not_A_Label' });
    expect(docs[2]!.errors[0]).toEqual(expect.objectContaining({ line: expect.any(Number), message: expect.stringContaining('invalid YAML') }));
    const locate = outlineLocator(docs[0]!.outline);
    const nameLine = fixture.split('\n').findIndex((l) => l.startsWith('name:')) + 1;
    expect(locate('/name')).toEqual({ line: nameLine, col: 1 });
    const authLine = fixture.split('\n').findIndex((l) => l.includes('Authorization:')) + 1;
    expect(locate('/auth_data/headers/Authorization')).toEqual({ line: authLine, col: 5 });
    // A pointer that does not exist: its nearest existing parent.
    expect(locate('/auth_data/headers/Nope')).toEqual(locate('/auth_data/headers'));
    // The budget's timer is gone; the worker waits for more until its idle time runs out.
    expect(clock.pendingTimers()).toEqual([expect.objectContaining({ inMs: IDLE_MS })]);
    expect(pool.workers()).toBe(1);
    clock.advance(IDLE_MS);
    expect(pool.workers()).toBe(0);
    const [again] = await pool.readManifests(fixture, 'yaml');
    expect(again!.valid).toBe(true);
  });

  it('refuses a file over a limit with the limit and the line', async () => {
    const text = Array.from({ length: 60_000 }, (_, i) => `k${i}: v${i}\n`).join('');
    const [doc] = await pool.readManifests(text, 'yaml');
    expect(doc!.errors).toEqual([{ path: '', line: MAX_KEYS + 1, col: expect.any(Number), message: expect.stringContaining(`at most ${MAX_KEYS} mapping keys`) }]);
  });

  it('terminates a worker over budget, answers a clear error, and parses the next text with a fresh one', async () => {
    const slow = pool.readManifests(Array.from({ length: 9000 }, (_, i) => `k${i}: v${i}\n`).join(''), 'yaml');
    // The budget's timer runs out before the worker can answer: answers arrive as messages, later.
    expect(clock.pendingTimers()).toEqual([expect.objectContaining({ inMs: 5000 })]);
    clock.advance(5000);
    expect(await slow).toEqual([
      { index: 0, value: undefined, valid: false, outline: [], errors: [{ path: '', line: 1, col: 1, message: expect.stringContaining('parsing took longer than 5 s') }] },
    ]);
    const [next] = await pool.readManifests(fixture, 'yaml');
    expect(next!.valid).toBe(true);
  });

  it('answers a large invalid document with its name and at most MAX_ERRORS errors, not its value', async () => {
    const extra = Array.from({ length: 9000 }, (_, i) => `extra${i}: v`).join('\n');
    const text = `type: mcp-server/remote\nname: big\nurl: http://127.0.0.1:9/mcp\n${extra}\n`;
    const [doc] = await pool.readManifests(text, 'yaml');
    expect(doc).toMatchObject({ valid: false, value: undefined, name: 'big', outline: [] });
    expect(doc!.errors).toHaveLength(MAX_ERRORS + 1);
    expect(doc!.errors).toContainEqual(expect.objectContaining({ path: '/extra0', line: 4, col: 1 }));
    // The first by line, then how many more, placed after the last listed.
    const lines = doc!.errors.map((e) => e.line!);
    expect(lines).toEqual([...lines].sort((a, b) => a - b));
    // 9,000 unknown fields and two missing ones: ajv's errors past those put into words are counted, so the count is a lower bound.
    expect(doc!.errors[MAX_ERRORS]).toEqual({ path: '', line: lines[MAX_ERRORS - 1], col: 1, omitted: 8952, message: 'about 8,952 more errors not shown: only the first 50 are reported; fix these and send again' });
  });

  it('queues texts beyond its workers and answers each', async () => {
    const texts = Array.from({ length: 5 }, (_, i) => fixture.replace('name: search-tools', `name: search-${i}`));
    const answers = await Promise.all(texts.map((t) => pool.readManifests(t, 'yaml')));
    expect(answers.map((docs) => (docs[0]!.value as { name: string }).name)).toEqual(['search-0', 'search-1', 'search-2', 'search-3', 'search-4']);
  });

  it('starts warm; without idleMs its worker waits IDLE_MS for the next text (as a server does)', async () => {
    const own = new ParsePool({ clock, inlineMaxBytes: 0 });
    try {
      own.warm();
      expect(own.workers()).toBe(1);
      expect((await own.readManifests(fixture, 'yaml'))[0]!.valid).toBe(true);
      expect(own.workers()).toBe(1);
      expect(clock.pendingTimers()).toEqual([expect.objectContaining({ inMs: IDLE_MS })]);
    } finally {
      await own.close();
    }
    expect(own.workers()).toBe(0);
  });

  it('answers an error once closed', async () => {
    await pool.close();
    expect((await pool.readManifests(fixture, 'yaml'))[0]!.errors[0]!.message).toContain('shut down');
  });
});
