// Every condition and event reason src/ uses is one of the named constants (condition-reasons.ts,
// event-reasons.ts): the sources are scanned for a PascalCase reason written as a literal.
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { ConditionReason } from '../../src/domain/condition-reasons.js';
import { APPLIED, DISCOVERED, READY, RECONCILING, STALLED } from '../../src/domain/conditions.js';
import { EventReason } from '../../src/domain/event-reasons.js';

const SRC = join(import.meta.dirname, '..', '..', 'src');

/** A PascalCase literal that is not an event type or a condition status. */
const REASON = String.raw`'(?!(?:Normal|Warning|True|False|Unknown)')([A-Z][A-Za-z]*)'`;
/** Places a reason is written: a condition or event being built, a thrown reconcile error, a comparison. */
const REASON_SITES: RegExp[] = [
  String.raw`\breason\s*:\s*${REASON}`,
  String.raw`\breason\s*[!=]==\s*${REASON}`,
  String.raw`'(?:Normal|Warning)',\s*${REASON}`,
  String.raw`'(?:True|False|Unknown)',\s*${REASON}`,
  String.raw`\bevent\(\s*[\w.]+,\s*${REASON}`,
  String.raw`(?:TerminalError|ReconcileError|super)\((?:[^()]|\([^()]*\))*,\s*${REASON}\s*\)`,
].map((site) => new RegExp(site, 'g'));

/**
 * Reasons of answers, a concern of their own and not condition or event reasons: the HTTP API's (an
 * error body, a watch stream's closing frame) and an OAuth metadata probe's (detect-auth).
 */
const API_ANSWER_REASONS: Record<string, readonly string[]> = {
  'upstream/oauth-metadata.ts': ['InvalidMetadata', 'ResourceMismatch'],
  'http/watch-hub.ts': ['Expired', 'InternalError', 'TooSlow'],
  'http/mcp-servers-router.ts': ['NotFound', 'Timeout'],
  'reconcile/refresh-server.ts': ['NotFound', 'Timeout', 'Unavailable'],
  'cli/watch.ts': ['Expired'],
  'cluster/refresh-forwarding.ts': ['Unavailable'],
  // The OpenAPI document parser's own failure kinds, which discovery maps onto condition reasons.
  'openapi/discover-openapi.ts': ['ReadFailed', 'ParserFailed'],
  'openapi/document-parser.ts': ['ParserFailed'],
  'openapi/parse-document.ts': ['ReadFailed'],
};

/** Places a condition type is written: a lookup by type. */
const CONDITION_TYPE_SITES: RegExp[] = [/\.type\s*[!=]==\s*'([A-Z][A-Za-z]*)'/g, /\bfindCondition\([^,]+,\s*'([A-Z][A-Za-z]*)'/g];

function withoutComments(source: string): string {
  return source.replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
}

function literalReasons(source: string): string[] {
  const code = withoutComments(source);
  return REASON_SITES.flatMap((site) => [...code.matchAll(site)].map((m) => m[1]!));
}

function literalConditionTypes(source: string): string[] {
  const code = withoutComments(source);
  return CONDITION_TYPE_SITES.flatMap((site) => [...code.matchAll(site)].map((m) => m[1]!));
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sourceFiles(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

describe('named reasons', () => {
  const named = new Set<string>([...Object.values(ConditionReason), ...Object.values(EventReason)]);

  it('finds a literal reason in each kind of place it can be written', () => {
    const sample = [
      "c = { type: READY, status: 'False', reason: 'Alpha', message };",
      "if (result.reason === 'Beta') return;",
      "await event(resource, 'Warning', 'Gamma', message);",
      "c = set(c, READY, 'True', 'Delta', summary);",
      "await this.event(owned, 'Epsilon', `text`);",
      "await this.event(\n  owned,\n  'Zeta',\n  'text');",
      "await event(resource, 'Normal', EventReason.Applied, message);",
      "throw new TerminalError(`The ${thing} is bad`, 'Eta');",
      "// reason: 'InAComment'",
    ].join('\n');
    expect(literalReasons(sample).sort()).toEqual(['Alpha', 'Beta', 'Delta', 'Epsilon', 'Eta', 'Gamma', 'Zeta']);
  });

  it('src/ writes no condition or event reason that is not a named constant', () => {
    const unnamed: string[] = [];
    for (const file of sourceFiles(SRC)) {
      const rel = relative(SRC, file).split('\\').join('/');
      const allowed = new Set(API_ANSWER_REASONS[rel] ?? []);
      for (const reason of literalReasons(readFileSync(file, 'utf8'))) {
        if (!named.has(reason) && !allowed.has(reason)) unnamed.push(`${rel}: '${reason}'`);
      }
    }
    expect(unnamed).toEqual([]);
  });

  it('src/ looks conditions up by the named condition types, never by a literal', () => {
    expect(literalConditionTypes("conditions.find((c) => c.type === 'Ready'); findCondition(s.conditions, 'Applied');")).toEqual(['Ready', 'Applied']);
    const types = new Set<string>([READY, APPLIED, RECONCILING, STALLED, DISCOVERED]);
    const literal = sourceFiles(SRC).flatMap((file) =>
      literalConditionTypes(readFileSync(file, 'utf8'))
        .filter((type) => types.has(type))
        .map((type) => `${relative(SRC, file)}: '${type}'`),
    );
    expect(literal).toEqual([]);
  });

  it('names each reason by its wire string, in PascalCase', () => {
    for (const table of [ConditionReason, EventReason]) {
      for (const [name, wire] of Object.entries(table)) {
        expect(wire).toBe(name);
        expect(wire).toMatch(/^[A-Z][A-Za-z]*$/);
      }
    }
  });
});
