// Evaluating the rules of admission policies against one context, in-thread: the body of the evaluator's
// worker (policy-evaluator.ts), which bounds it in time. Pure but for a cache of compiled expressions.
import { compileExpression, describeCelError, type CompiledExpression } from './cel-environment.js';

export interface EvaluationRequest {
  id: number;
  /** The expressions to evaluate, each against the same context. */
  expressions: string[];
  /** JSON of { object, oldObject, request }. */
  context: string;
}

/** passed: the expression answered true; otherwise `error` says why not (false included). */
export interface ExpressionOutcome {
  passed: boolean;
  error?: string;
  /** Not answered within the evaluator's deadline. */
  timedOut?: true;
}

export type EvaluationAnswer = { id: number; outcomes: ExpressionOutcome[] } | { id: number; error: string } | { ready: true };

const MAX_CACHED = 500;
const compiled = new Map<string, CompiledExpression>();

function compiledOf(expression: string): CompiledExpression {
  let fn = compiled.get(expression);
  if (!fn) {
    fn = compileExpression(expression);
    if (compiled.size >= MAX_CACHED) compiled.delete(compiled.keys().next().value!);
    compiled.set(expression, fn);
  }
  return fn;
}

/** JSON's integers as CEL ints (BigInt), so `object.timeouts.request_ms > 1000` compares int to int. */
function celValues(value: unknown): unknown {
  if (typeof value === 'number') return Number.isInteger(value) ? BigInt(value) : value;
  if (Array.isArray(value)) return value.map(celValues);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = celValues(v);
    return out;
  }
  return value;
}

export function evaluateExpressions(request: EvaluationRequest): ExpressionOutcome[] {
  const context = celValues(JSON.parse(request.context)) as Record<string, unknown>;
  return request.expressions.map((expression) => {
    try {
      const value = compiledOf(expression)(context);
      if (value === true) return { passed: true };
      if (value === false) return { passed: false };
      return { passed: false, error: `the expression answered ${typeof value === 'bigint' ? 'an int' : typeof value}, not a bool` };
    } catch (err) {
      return { passed: false, error: describeCelError(err) };
    }
  });
}
