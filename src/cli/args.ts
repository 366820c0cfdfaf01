// A small, strict flag parser: unknown flags and missing values are usage errors that name the flag.
import { didYouMean } from './suggest.js';

export type FlagKind = 'string' | 'list' | 'boolean';

export interface FlagSpec {
  kind: FlagKind;
  /** One-letter alias, e.g. "f" for -f. */
  short?: string;
}

export type FlagSpecs = Record<string, FlagSpec>;

export type FlagValues<S extends FlagSpecs> = {
  [K in keyof S]: S[K]['kind'] extends 'boolean' ? boolean : S[K]['kind'] extends 'list' ? string[] : string | undefined;
};

export type ParsedArgs<S extends FlagSpecs> =
  | { ok: true; flags: FlagValues<S>; positionals: string[] }
  | { ok: false; message: string };

export function parseArgs<S extends FlagSpecs>(argv: readonly string[], specs: S): ParsedArgs<S> {
  const values: Record<string, string | string[] | boolean | undefined> = {};
  for (const [name, spec] of Object.entries(specs)) {
    values[name] = spec.kind === 'boolean' ? false : spec.kind === 'list' ? [] : undefined;
  }
  const byShort = new Map(Object.entries(specs).flatMap(([name, spec]) => (spec.short ? [[spec.short, name] as const] : [])));
  const positionals: string[] = [];

  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (!arg.startsWith('-') || arg === '-') {
      positionals.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const written = eq === -1 ? arg : arg.slice(0, eq);
    const inline = eq === -1 ? undefined : arg.slice(eq + 1);
    const name = written.startsWith('--') ? written.slice(2) : byShort.get(written.slice(1));
    const spec = name !== undefined && Object.hasOwn(specs, name) ? specs[name] : undefined;
    if (name === undefined || !spec) {
      const known = Object.entries(specs).flatMap(([n, s]) => [`--${n}`, ...(s.short ? [`-${s.short}`] : [])]);
      return { ok: false, message: `unknown flag ${JSON.stringify(written)}${didYouMean(written, known)}` };
    }
    if (spec.kind === 'boolean') {
      if (inline !== undefined && inline !== 'true' && inline !== 'false') {
        return { ok: false, message: `flag ${written} takes no value (or =true / =false), got ${JSON.stringify(inline)}` };
      }
      values[name] = inline !== 'false';
      continue;
    }
    let value = inline;
    if (value === undefined) {
      const next = argv[i + 1];
      if (next === undefined || (next.startsWith('-') && next !== '-')) return { ok: false, message: `flag ${written} needs a value` };
      value = next;
      i++;
    }
    if (value === '') return { ok: false, message: `flag ${written} needs a non-empty value` };
    if (spec.kind === 'list') (values[name] as string[]).push(value);
    else values[name] = value;
  }
  return { ok: true, flags: values as FlagValues<S>, positionals };
}

/** The flags every server-talking command takes. */
export const CONNECTION_FLAGS = {
  server: { kind: 'string' },
  token: { kind: 'string' },
  help: { kind: 'boolean', short: 'h' },
} as const satisfies FlagSpecs;

export const CONNECTION_HELP = `Connection flags:
  --server URL    The control plane (env MCPCTL_SERVER; default http://127.0.0.1:8080).
  --token TOKEN   Bearer token (env MCPCTL_TOKEN, preferred: flags show up in process lists).
                  Without one, against a loopback server, ./data/admin-token is read.
`;
