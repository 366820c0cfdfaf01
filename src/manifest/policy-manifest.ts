// mcp-policy/admission rules the schema cannot state: every rule's expression must compile (CEL) to a
// bool. Pure; on unvalidated input too. Run wherever manifests are validated (PUT, a watched file's
// parse worker), so a compile error is reported when the policy is applied, at /rules/N/expression.
import type { FieldError } from '../domain/errors.js';
import { expressionProblem, MAX_EXPRESSION_LENGTH } from '../policy/cel-environment.js';
import { isPlainObject } from './pointer.js';

export function checkPolicyManifest(value: Record<string, unknown>): FieldError[] {
  const rules = value.rules;
  if (!Array.isArray(rules)) return [];
  const errors: FieldError[] = [];
  rules.forEach((rule, index) => {
    if (!isPlainObject(rule) || typeof rule.expression !== 'string' || rule.expression.length === 0 || rule.expression.length > MAX_EXPRESSION_LENGTH) return;
    const problem = expressionProblem(rule.expression);
    if (problem !== undefined) errors.push({ path: `/rules/${index}/expression`, message: `not a valid CEL rule: ${problem}` });
  });
  return errors;
}
