// Formatting for people (tables, diffs, ages) and for machines (json, yaml).
import { stringify as toYaml } from 'yaml';
import type { CliWriter } from './io.js';

export interface DiffEntry {
  op: 'add' | 'remove' | 'replace';
  path: string;
  from?: unknown;
  to?: unknown;
  secret?: boolean;
}

const MAX_VALUE = 120;

/** A value in a diff line: JSON, shortened when long. */
export function formatValue(value: unknown): string {
  const text = value === undefined ? 'undefined' : JSON.stringify(value);
  return text.length <= MAX_VALUE ? text : `${text.slice(0, MAX_VALUE - 1)}…`;
}

/** `~ /path: from → to`, `+ /path: value`, `- /path: value`; secrets never show a value. */
export function formatDiffEntry(d: DiffEntry): string {
  if (d.secret) {
    if (d.op === 'add') return `+ ${d.path}: (secret added)`;
    if (d.op === 'remove') return `- ${d.path}: (secret removed)`;
    return `~ ${d.path}: (secret changed)`;
  }
  if (d.op === 'add') return `+ ${d.path}: ${formatValue(d.to)}`;
  if (d.op === 'remove') return `- ${d.path}: ${formatValue(d.from)}`;
  return `~ ${d.path}: ${formatValue(d.from)} → ${formatValue(d.to)}`;
}

/** Columns padded to the widest cell, three spaces apart, like kubectl. */
export function formatTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join('   ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n') + '\n';
}

/** kubectl-style age: 42s, 5m, 3h, 12d; "<unknown>" for a missing or bad time. */
export function formatAge(iso: string | undefined, now: Date): string {
  const then = iso ? Date.parse(iso) : NaN;
  if (Number.isNaN(then)) return '<unknown>';
  const seconds = Math.max(0, Math.floor((now.getTime() - then) / 1000));
  if (seconds < 120) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 120) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return `${hours}h`;
  return `${Math.floor(hours / 24)}d`;
}

export type MachineFormat = 'json' | 'yaml';

/** Deeper values are written as JSON even for yaml (JSON is YAML too): the yaml stringifier recurses. */
const MAX_YAML_DEPTH = 256;

/** Whether arrays and objects nest deeper than `limit` in `value`; iterative. */
function nestsDeeperThan(value: unknown, limit: number): boolean {
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length > 0) {
    const [node, depth] = stack.pop()!;
    if (typeof node !== 'object' || node === null) continue;
    if (depth >= limit) return true;
    for (const child of Array.isArray(node) ? node : Object.values(node)) stack.push([child, depth + 1]);
  }
  return false;
}

export function writeMachine(out: CliWriter, format: MachineFormat, value: unknown): void {
  const yaml = format === 'yaml' && !nestsDeeperThan(value, MAX_YAML_DEPTH);
  out.write(yaml ? toYaml(value, { lineWidth: 0 }) : `${JSON.stringify(value, null, 2)}\n`);
}

/** Checks an -o value against the formats a command supports; answers an error message when it is not one. */
export function checkOutputFormat(value: string | undefined, allowed: readonly string[]): string | undefined {
  if (value === undefined || allowed.includes(value)) return undefined;
  return `-o must be one of ${allowed.join(', ')}, got ${JSON.stringify(value)}`;
}

export function indent(text: string, prefix: string): string {
  return text
    .split('\n')
    .map((l) => (l ? prefix + l : l))
    .join('\n');
}

export function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}
