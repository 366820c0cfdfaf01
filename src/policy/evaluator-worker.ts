// The body of the policy evaluator's worker (see policy-evaluator.ts): answers each request with the
// outcome of every expression, or with the message of what went wrong.
import { parentPort } from 'node:worker_threads';
import { evaluateExpressions, type EvaluationAnswer, type EvaluationRequest } from './evaluate-rules.js';

parentPort?.on('message', (request: EvaluationRequest) => {
  let answer: EvaluationAnswer;
  try {
    answer = { id: request.id, outcomes: evaluateExpressions(request) };
  } catch (err) {
    answer = { id: request.id, error: err instanceof Error ? err.message : String(err) };
  }
  parentPort!.postMessage(answer);
});

// Loaded (CEL included): the evaluator starts a request's deadline only from here on.
parentPort?.postMessage({ ready: true });
