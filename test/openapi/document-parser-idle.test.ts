// The OpenAPI document parser's worker on a fake clock (as the other workers': src/domain/idle-timer.ts): it
// starts with the first parse, ends after idleMs without one, not before and not while a parse runs, and the
// next parse starts a fresh one; a parse's budget runs on the same clock.
import { DocumentParser } from '../../src/openapi/document-parser.js';
import type { ParseRequest } from '../../src/openapi/parse-document.js';
import { FakeClock, flushPromises } from '../support/fake-clock.js';
import { PETSTORE_YAML } from './petstore-server.js';

const request: ParseRequest = { source: { type: 'inline', openapi_spec: PETSTORE_YAML }, enableAllTools: true, toolSettings: [] };
const noReads = () => Promise.reject(new Error('no reads expected'));
const IDLE = 1000;

let clock: FakeClock;
let parser: DocumentParser;
beforeEach(() => {
  clock = new FakeClock();
  parser = new DocumentParser({ clock, idleMs: IDLE });
});
afterEach(() => parser.close());

it('ends the worker after idleMs without a parse, and the next parse starts a fresh one', async () => {
  expect(parser.workerRunning).toBe(false);
  expect(await parser.parse(request, 'given inline', noReads, 60_000)).toMatchObject({ ok: true });
  expect(parser.workerRunning).toBe(true);
  // The budget's timer is gone; the idle countdown is the only timer left.
  expect(clock.pendingTimers()).toEqual([expect.objectContaining({ inMs: IDLE })]);
  clock.advance(IDLE - 1);
  await flushPromises();
  expect(parser.workerRunning).toBe(true);
  clock.advance(1);
  expect(parser.workerRunning).toBe(false);
  expect(await parser.parse(request, 'given inline', noReads, 60_000)).toMatchObject({ ok: true, title: 'Swagger Petstore - OpenAPI 3.0' });
  expect(parser.workerRunning).toBe(true);
});

it('is not ended while a parse runs, and a parse given as the worker ends gets a fresh one', async () => {
  const running = parser.parse(request, 'given inline', noReads, 60_000);
  clock.advance(10 * IDLE);
  expect(parser.workerRunning).toBe(true);
  expect(await running).toMatchObject({ ok: true });
  clock.advance(IDLE);
  expect(parser.workerRunning).toBe(false);
  const [a, b] = await Promise.all([parser.parse(request, 'given inline', noReads, 60_000), parser.parse(request, 'given inline', noReads, 60_000)]);
  expect([a.ok, b.ok]).toEqual([true, true]);
});

it("answers Timeout when the budget runs out on the parser's clock", async () => {
  const parse = parser.parse(request, 'given inline', noReads, 5000);
  clock.advance(5000);
  expect(await parse).toMatchObject({ ok: false, reason: 'Timeout', message: expect.stringContaining('within the 5000 ms budget') });
  expect(parser.workerRunning).toBe(false);
});
