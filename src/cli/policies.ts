// mcpctl get policies [NAME...] and mcpctl describe policy NAME: the admission policies (an admin token),
// read from GET /api/svc/v1/policies; each with what the audit of the stored servers found.
import { stringify as toYaml } from 'yaml';
import { API_PREFIX, ApiError, describeError, type ApiClient } from './client.js';
import { now, usageError } from './command.js';
import { EXIT_FAILED, EXIT_OK, type CliIo } from './io.js';
import { formatAge, formatTable, indent, writeMachine } from './output.js';
import { sourceLabel, type ConditionView, type EventView, type SourceView } from './resources.js';

export interface PolicyView {
  id: string;
  name: string;
  type: string;
  manifest: {
    name: string;
    description?: string;
    match?: { types?: string[]; accounts?: string[] };
    rules: { expression: string; message: string }[];
    action: 'deny' | 'warn' | 'audit';
  };
  generation: number;
  source: SourceView;
  createdAt: string;
  updatedAt: string;
  status: {
    conditions: ConditionView[];
    audit: { observedGeneration: number; matched: number; violating: number; violations: { server: string; rule: number; message: string }[]; auditedAt: string } | null;
  };
}

const POLICIES = `${API_PREFIX}/policies`;
const PAGE = 1000;

async function listPolicies(client: ApiClient): Promise<PolicyView[]> {
  const all: PolicyView[] = [];
  for (let offset = 0; ; offset += PAGE) {
    const page = await client.request<{ data: PolicyView[]; pagination?: { total?: number } }>('GET', `${POLICIES}?limit=${PAGE}&offset=${offset}`);
    all.push(...page.data);
    if (page.data.length === 0 || all.length >= (page.pagination?.total ?? all.length)) return all;
  }
}

async function getPolicy(client: ApiClient, name: string): Promise<PolicyView> {
  return (await client.request<{ data: PolicyView }>('GET', `${POLICIES}/${encodeURIComponent(name)}`)).data;
}

/** The audit's counts, or why there are none yet (the policy changed since, or it has not run). */
function auditOf(p: PolicyView): { matched: string; violating: string } {
  const audit = p.status.audit;
  if (!audit || audit.observedGeneration !== p.generation) return { matched: '-', violating: '-' };
  return { matched: String(audit.matched), violating: String(audit.violating) };
}

function matchText(p: PolicyView): string {
  const m = p.manifest.match;
  const types = m?.types?.join(', ') ?? 'every type';
  const accounts = m?.accounts?.join(', ') ?? 'every account';
  return `${types}; ${accounts}`;
}

function fail(io: CliIo, err: unknown, name?: string): number {
  const message = name !== undefined && err instanceof ApiError && err.status === 404 ? `admission policy "${name}" not found (mcpctl get policies lists them)` : describeError(err);
  io.stderr.write(`error: ${message}\n`);
  return EXIT_FAILED;
}

/** mcpctl get policies [NAME...]: NAME, ACTION, RULES, MATCHED, VIOLATING, SOURCE, AGE. */
export async function getPolicies(client: ApiClient, io: CliIo, names: readonly string[], output: string | undefined): Promise<number> {
  const policies: PolicyView[] = [];
  let code = EXIT_OK;
  try {
    if (names.length === 0) policies.push(...(await listPolicies(client)));
  } catch (err) {
    return fail(io, err);
  }
  for (const name of names) {
    try {
      policies.push(await getPolicy(client, name));
    } catch (err) {
      code = fail(io, err, name);
    }
  }
  if (output === 'json' || output === 'yaml') {
    writeMachine(io.stdout, output, names.length === 1 ? (policies[0] ?? null) : policies);
    return code;
  }
  if (policies.length === 0) {
    if (names.length === 0) io.stderr.write('No admission policies found.\n');
    return code;
  }
  const at = now(io);
  io.stdout.write(
    formatTable(
      ['NAME', 'ACTION', 'RULES', 'MATCHED', 'VIOLATING', 'SOURCE', 'AGE'],
      policies.map((p) => {
        const audit = auditOf(p);
        return [p.name, p.manifest.action, String(p.manifest.rules.length), audit.matched, audit.violating, sourceLabel(p.source), formatAge(p.createdAt, at)];
      }),
    ),
  );
  return code;
}

function field(label: string, value: string): string {
  return `${`${label}:`.padEnd(14)}${value}\n`;
}

/** mcpctl describe policy NAME: the policy, its rules, the audit (matched count, each violation) and events. */
export async function describePolicy(client: ApiClient, io: CliIo, names: readonly string[]): Promise<number> {
  if (names.length !== 1 || !names[0]) return usageError(io, 'describe', names.length === 0 ? 'describe policy needs the NAME of an admission policy' : `describe policy takes one NAME, got ${names.length}: ${names.join(' ')}`);
  const name = names[0];
  let p: PolicyView;
  let events: EventView[] | string;
  try {
    p = await getPolicy(client, name);
  } catch (err) {
    return fail(io, err, name);
  }
  try {
    events = (await client.request<{ data: EventView[] }>('GET', `${POLICIES}/${encodeURIComponent(name)}/events`)).data;
  } catch (err) {
    events = describeError(err);
  }
  const at = now(io);
  const audit = p.status.audit;
  let out = '';
  out += field('Name', p.name);
  out += field('Action', p.manifest.action);
  if (p.manifest.description) out += field('Description', p.manifest.description);
  out += field('Match', matchText(p));
  out += field('Source', sourceLabel(p.source));
  out += field('Generation', String(p.generation));
  out += field('Created', `${p.createdAt} (${formatAge(p.createdAt, at)} ago)`);
  out += `Rules:\n${indent(formatTable(['RULE', 'EXPRESSION', 'MESSAGE'], p.manifest.rules.map((r, i) => [String(i), r.expression, r.message])), '  ')}`;
  if (!audit) out += field('Audit', '<not yet run>');
  else {
    const stale = audit.observedGeneration !== p.generation ? ` (of generation ${audit.observedGeneration}; generation ${p.generation} is being audited)` : '';
    out += field('Audit', `${audit.auditedAt}${stale}`);
    out += field('Matched', `${audit.matched} server${audit.matched === 1 ? '' : 's'}`);
    out += field('Violating', String(audit.violating));
    if (audit.violations.length > 0) {
      out += `Violations:\n${indent(formatTable(['SERVER', 'RULE', 'MESSAGE'], audit.violations.map((v) => [v.server, String(v.rule), v.message])), '  ')}`;
      if (audit.violations.length < audit.violating) out += `  (the first ${audit.violations.length} shown)\n`;
    }
  }
  out += `Spec:\n${indent(toYaml(p.manifest, { lineWidth: 0 }), '  ')}`;
  out += 'Events:\n';
  if (typeof events === 'string') out += `  <unavailable: ${events}>\n`;
  else if (events.length === 0) out += '  <none>\n';
  else out += indent(formatTable(['TYPE', 'REASON', 'AGE', 'MESSAGE'], events.map((e) => [e.type, e.reason, formatAge(e.lastTimestamp, at), e.message])), '  ');
  io.stdout.write(out);
  return EXIT_OK;
}
