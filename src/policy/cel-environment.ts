// The CEL of admission policies (@marcbachmann/cel-js): the variables a rule sees, Kubernetes' URL
// functions, and the structural limits every expression is parsed under. Parsing and type checking are
// bounded by the expression's length (MAX_EXPRESSION_LENGTH) and the parser's limits, so they run where
// a policy is applied; evaluating runs in policy-evaluator's worker, under a deadline.
import { Environment, type ParseError } from '@marcbachmann/cel-js';

/** The longest expression a rule may have (the schema says the same). */
export const MAX_EXPRESSION_LENGTH = 2048;

/** A parsed URL, as Kubernetes' CEL URL library answers url(string). */
export class CelUrl {
  constructor(readonly url: URL) {}
}

function parseUrl(text: string): CelUrl {
  if (!URL.canParse(text)) throw new Error(`url: ${JSON.stringify(text.slice(0, 200))} is not an absolute URL`);
  return new CelUrl(new URL(text));
}

/** The host as Kubernetes answers it: an IPv6 address without brackets, no port. */
function hostname(u: CelUrl): string {
  const h = u.url.hostname;
  return h.startsWith('[') && h.endsWith(']') ? h.slice(1, -1) : h;
}

function buildEnvironment(): Environment {
  return new Environment({
    limits: { maxAstNodes: 1000, maxDepth: 32, maxListElements: 100, maxMapEntries: 100, maxCallArguments: 8 },
  })
    .registerType('URL', CelUrl)
    .registerVariable('object', 'map')
    .registerVariable('oldObject', 'dyn')
    .registerVariable('request', 'map')
    .registerFunction('url(string): URL', parseUrl)
    .registerFunction('isURL(string): bool', (text: string) => URL.canParse(text))
    .registerFunction('URL.getScheme(): string', (u: CelUrl) => u.url.protocol.replace(/:$/, ''))
    .registerFunction('URL.getHost(): string', (u: CelUrl) => u.url.host)
    .registerFunction('URL.getHostname(): string', hostname)
    .registerFunction('URL.getPort(): string', (u: CelUrl) => u.url.port)
    .registerFunction('URL.getEscapedPath(): string', (u: CelUrl) => u.url.pathname)
    .registerFunction('URL.getQuery(): map', (u: CelUrl) => {
      const query: Record<string, string[]> = {};
      for (const [k, v] of u.url.searchParams) (query[k] ??= []).push(v);
      return query;
    });
}

let environment: Environment | undefined;

/** The one environment (built on first use: a process that applies no policy never builds it). */
export function celEnvironment(): Environment {
  environment ??= buildEnvironment();
  return environment;
}

/** The first line of a cel-js error (its message repeats the expression with a marker) and the column. */
function describeCelError(err: unknown): string {
  const e = err as Partial<ParseError> & { message?: string };
  const summary = typeof e.summary === 'string' ? e.summary : String(e.message ?? err).split('\n')[0];
  const start = e.range?.start;
  return typeof start === 'number' ? `${summary} (at character ${start + 1})` : String(summary);
}

/**
 * Why an expression cannot be a rule (a parse or type error, or a result that is not a bool), or
 * undefined when it can.
 */
export function expressionProblem(expression: string): string | undefined {
  if (expression.length > MAX_EXPRESSION_LENGTH) return `the expression has ${expression.length} characters; at most ${MAX_EXPRESSION_LENGTH}`;
  try {
    const checked = celEnvironment().check(expression);
    if (!checked.valid) return describeCelError(checked.error);
    if (checked.type !== 'bool' && checked.type !== 'dyn') return `the expression answers ${checked.type}; a rule must answer a bool`;
    return undefined;
  } catch (err) {
    return describeCelError(err);
  }
}

/** A compiled rule: call it with the variables. */
export type CompiledExpression = (context: Record<string, unknown>) => unknown;

export function compileExpression(expression: string): CompiledExpression {
  return celEnvironment().parse(expression) as unknown as CompiledExpression;
}

export { describeCelError };
