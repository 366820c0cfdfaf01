// The policy evaluator's worker on a fake clock: started by the first request, ended after idleMs without
// one, started again by the next; a request given before the idle time ran out keeps it, and none is lost.
import { PolicyEvaluator } from '../../src/policy/policy-evaluator.js';
import { FakeClock, flushPromises } from '../support/fake-clock.js';

const IDLE = 1000;
const context = { object: { url: 'https://mcp.example/mcp' }, oldObject: null, request: { subject: 'admin', source: 'api', dryRun: false } };
const rule = ["object.url.startsWith('https://')"];

let evaluator: PolicyEvaluator;
let clock: FakeClock;
beforeEach(() => {
  clock = new FakeClock();
  evaluator = new PolicyEvaluator({ clock, idleMs: IDLE });
});
afterEach(async () => {
  await evaluator.close();
});

test('no worker before the first request; it ends after idleMs without one, and the next request starts a fresh one', async () => {
  expect(evaluator.workerRunning).toBe(false);
  expect(await evaluator.evaluate(rule, context)).toEqual([{ passed: true }]);
  expect(evaluator.workerRunning).toBe(true);
  clock.advance(IDLE - 1);
  await flushPromises();
  expect(evaluator.workerRunning).toBe(true);
  clock.advance(1);
  expect(evaluator.workerRunning).toBe(false);
  expect(await evaluator.evaluate(rule, context)).toEqual([{ passed: true }]);
  expect(evaluator.workerRunning).toBe(true);
});

test('a request before the idle time ran out keeps the worker, whose idle time starts again', async () => {
  await evaluator.evaluate(rule, context);
  clock.advance(IDLE - 1);
  expect(await evaluator.evaluate(rule, context)).toEqual([{ passed: true }]);
  clock.advance(IDLE - 1);
  await flushPromises();
  expect(evaluator.workerRunning).toBe(true);
  clock.advance(1);
  expect(evaluator.workerRunning).toBe(false);
});

test('requests given as the worker ends are answered by a fresh one', async () => {
  await evaluator.evaluate(rule, context);
  clock.advance(IDLE);
  const answers = await Promise.all([evaluator.evaluate(rule, context), evaluator.evaluate(rule, context)]);
  expect(answers).toEqual([[{ passed: true }], [{ passed: true }]]);
});
