// Small texts are parsed on the caller's thread: the edit of a file or two starts no worker. A text over
// INLINE_MAX_BYTES, texts beyond INLINE_TURN_BYTES in one turn of the event loop, and texts given while
// others wait for a worker go to a worker. Inline or not, a text's documents are the same.
import { readFileSync } from 'node:fs';
import { INLINE_MAX_BYTES, INLINE_TURN_BYTES, ParsePool } from '../../src/manifest/parse-pool.js';

const fixture = readFileSync(new URL('../fixtures/manifests/remote-full.yaml', import.meta.url), 'utf8');
const texts = [
  fixture,
  `${fixture}---\ntype: mcp-server/remote\nname: Not_A_Label\nurl: http://127.0.0.1:9/mcp\n---\nname: [\n`,
  '{"type": "mcp-server/remote", "name": "j", "url": 3}',
];

let pool: ParsePool;
let workerPool: ParsePool;
beforeEach(() => {
  pool = new ParsePool({ size: 1 });
  workerPool = new ParsePool({ size: 1, inlineMaxBytes: 0 });
});
afterEach(async () => {
  await pool.close();
  await workerPool.close();
});

const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

test('a small text is parsed without a worker, with the documents a worker answers', async () => {
  for (const text of texts) {
    const format = text.startsWith('{') ? 'json' : 'yaml';
    const inline = await pool.readManifests(text, format);
    expect(inline).toEqual(await workerPool.readManifests(text, format));
    await nextTurn();
  }
  expect(pool.inlineParsed()).toBe(texts.length);
  expect(pool.startedWorkers()).toBe(0);
  expect(workerPool.startedWorkers()).toBe(1);
});

test('a text over INLINE_MAX_BYTES goes to a worker', async () => {
  const large = `${fixture}\n${'#'.repeat(INLINE_MAX_BYTES)}\n`;
  const [doc] = await pool.readManifests(large, 'yaml');
  expect(doc!.valid).toBe(true);
  expect(pool.inlineParsed()).toBe(0);
  expect(pool.startedWorkers()).toBe(1);
});

test('in one turn at most INLINE_TURN_BYTES are parsed inline; the rest of a batch goes to a worker, none lost', async () => {
  const batch = Array.from({ length: Math.ceil((2 * INLINE_TURN_BYTES) / fixture.length) }, (_, i) => fixture.replace('name: search-tools', `name: search-${i}`));
  const answers = await Promise.all(batch.map((t) => pool.readManifests(t, 'yaml')));
  expect(answers.map((docs) => (docs[0]!.value as { name: string }).name)).toEqual(batch.map((_, i) => `search-${i}`));
  expect(pool.inlineParsed()).toBe(Math.floor(INLINE_TURN_BYTES / Buffer.byteLength(fixture)));
  expect(pool.startedWorkers()).toBe(1);
  // A later turn, nothing waiting: inline again.
  await nextTurn();
  const before = pool.inlineParsed();
  await pool.readManifests(fixture, 'yaml');
  expect(pool.inlineParsed()).toBe(before + 1);
});

test('a small text given while another waits for a worker goes to the worker too (in order behind it)', async () => {
  const large = `${fixture}\n${'#'.repeat(INLINE_MAX_BYTES)}\n`;
  const first = pool.readManifests(large, 'yaml');
  const second = pool.readManifests(fixture, 'yaml');
  expect((await first)[0]!.valid).toBe(true);
  expect((await second)[0]!.valid).toBe(true);
  expect(pool.inlineParsed()).toBe(0);
});

test('a closed pool parses nothing inline either', async () => {
  await pool.close();
  const [doc] = await pool.readManifests(fixture, 'yaml');
  expect(doc!.errors[0]!.message).toContain('shut down');
  expect(pool.inlineParsed()).toBe(0);
});

test('YAML with an anchor or an alias, and a text of many keys, go to a worker', async () => {
  // 99 aliases of one anchored list: small as text, a large tree once the aliases are expanded.
  const aliases = `type: mcp-server/remote\nname: a\nurl: http://127.0.0.1:9/mcp\nx-list: &l [${Array.from({ length: 200 }, (_, i) => i).join(',')}]\nx-refs: [${Array.from({ length: 99 }, () => '*l').join(', ')}]\n`;
  const keys = `type: mcp-server/remote\nname: k\nurl: http://127.0.0.1:9/mcp\nx: {${Array.from({ length: 1_200 }, (_, i) => `k${i}: ${i}`).join(', ')}}\n`;
  for (const text of [aliases, keys]) {
    expect(Buffer.byteLength(text)).toBeLessThanOrEqual(INLINE_MAX_BYTES);
    expect(await pool.readManifests(text, 'yaml')).toEqual(await workerPool.readManifests(text, 'yaml'));
    await nextTurn();
  }
  expect(pool.inlineParsed()).toBe(0);
  expect(pool.startedWorkers()).toBe(1);
  // The same characters inside a JSON string do not count as an alias.
  await pool.readManifests('{"type": "mcp-server/remote", "name": "j", "url": "http://127.0.0.1:9/mcp?a=1&b=*"}', 'json');
  expect(pool.inlineParsed()).toBe(1);
});
