// The evaluator of admission rules: CEL with the URL functions, outcomes per expression, and the bound on
// a runaway expression (the worker is ended at its deadline; the event loop stays free meanwhile; the
// next request gets a fresh worker).
import { expressionProblem } from '../../src/policy/cel-environment.js';
import { PolicyEvaluator } from '../../src/policy/policy-evaluator.js';

let evaluator: PolicyEvaluator;

afterEach(async () => {
  await evaluator.close();
});

const context = (object: unknown) => ({ object, oldObject: null, request: { subject: 'admin', source: 'api', dryRun: false } });

test('the issue example: url() and has() over the normalised manifest', async () => {
  evaluator = new PolicyEvaluator();
  const rules = [
    "object.url.startsWith('https://') && url(object.url).getHostname().endsWith('.acme.example')",
    'has(object.tags.owner)',
    'object.timeouts.request_ms <= 30000',
    "request.source == 'api' && oldObject == null",
  ];
  const good = await evaluator.evaluate(rules, context({ url: 'https://mcp.acme.example/mcp', tags: { owner: 'team-a' }, timeouts: { request_ms: 1000 } }));
  expect(good).toEqual([{ passed: true }, { passed: true }, { passed: true }, { passed: true }]);
  const bad = await evaluator.evaluate(rules, context({ url: 'http://evil.example/mcp', tags: {}, timeouts: { request_ms: 60000 } }));
  expect(bad.map((o) => o.passed)).toEqual([false, false, false, true]);
  // A missing field is an error of that rule, said in CEL's words, not a crash.
  const missing = await evaluator.evaluate(['object.url.startsWith("https://")'], context({ command: 'x' }));
  expect(missing[0]).toEqual({ passed: false, error: expect.stringContaining('url') });
});

test('compile problems are found without evaluating: syntax, unknown functions, non-bool results', () => {
  expect(expressionProblem('has(object.tags.owner)')).toBeUndefined();
  expect(expressionProblem("url(object.url).getHostname() == 'x'")).toBeUndefined();
  expect(expressionProblem('object.url.')).toMatch(/Expected IDENTIFIER/);
  expect(expressionProblem('nosuch(1)')).toMatch(/no matching overload/);
  expect(expressionProblem('1 + 2')).toMatch(/answers int; a rule must answer a bool/);
  expect(expressionProblem('x'.repeat(3000))).toMatch(/at most 2048/);
});

test('a runaway expression is ended at its deadline, the event loop stays free, and the next request is evaluated', async () => {
  evaluator = new PolicyEvaluator({ budgetMs: 300 });
  // 10^9 steps of nested comprehensions.
  const ten = '[0,1,2,3,4,5,6,7,8,9]';
  const runaway = `${ten}.all(a, ${ten}.all(b, ${ten}.all(c, ${ten}.all(d, ${ten}.all(e, ${ten}.all(f, ${ten}.all(g, ${ten}.all(h, ${ten}.all(i, true)))))))))`;
  expect(expressionProblem(runaway)).toBeUndefined();
  let ticks = 0;
  const ticker = setInterval(() => ticks++, 5);
  const [outcome] = await evaluator.evaluate([runaway], context({}));
  clearInterval(ticker);
  expect(outcome).toEqual({ passed: false, error: expect.stringContaining('longer than 300 ms'), timedOut: true });
  expect(evaluator.timeouts).toBe(1);
  // The main thread ran its timers while the worker was busy.
  expect(ticks).toBeGreaterThan(0);
  // A catastrophic backtracking RegExp is ended the same way.
  const [redos] = await evaluator.evaluate(["'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!'.matches('^(a+)+$')"], context({}));
  expect(redos).toEqual({ passed: false, error: expect.stringContaining('longer than'), timedOut: true });
  const [after] = await evaluator.evaluate(['1 < 2'], context({}));
  expect(after).toEqual({ passed: true });
});

test('a context over the size bound is not evaluated', async () => {
  evaluator = new PolicyEvaluator();
  const [outcome] = await evaluator.evaluate(['true'], context({ description: 'x'.repeat(3 * 1024 * 1024) }));
  expect(outcome).toEqual({ passed: false, error: expect.stringContaining('too large') });
});
