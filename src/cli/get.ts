// mcpctl get [servers] [NAME...] | get events [NAME] | get sources | get cluster
import { join } from 'node:path';
import { CONNECTION_FLAGS, CONNECTION_HELP } from './args.js';
import { ApiError, describeError, type ApiClient } from './client.js';
import { connect, now, startCommand, usageError } from './command.js';
import { EXIT_FAILED, EXIT_OK, type CliIo } from './io.js';
import { checkOutputFormat, formatAge, formatTable, writeMachine } from './output.js';
import {
  getServer,
  listAllEvents,
  listEventsByName,
  listServers,
  listSources,
  notFoundMessage,
  readyCondition,
  readyOf,
  sourceLabel,
  type ServerView,
  type WatchedDirectoryView,
} from './resources.js';
import { matches, parseSelectors } from './selectors.js';
import { closest } from './suggest.js';
import { getCluster } from './get-cluster.js';
import { getPolicies } from './policies.js';
import { READY } from '../domain/conditions.js';

const FLAGS = { ...CONNECTION_FLAGS, output: { kind: 'string', short: 'o' }, selector: { kind: 'list', short: 'l' } } as const;

/** The kinds `get` reads; a first argument that is none of them is a server NAME. */
export const GET_KINDS = ['servers', 'events', 'sources', 'cluster', 'policies'] as const;
const KIND_ALIASES: Record<string, (typeof GET_KINDS)[number]> = {
  servers: 'servers',
  server: 'servers',
  'mcp-servers': 'servers',
  'mcp-server': 'servers',
  events: 'events',
  event: 'events',
  sources: 'sources',
  source: 'sources',
  cluster: 'cluster',
  policies: 'policies',
  policy: 'policies',
};

export const GET_HELP = `Usage: mcpctl get [servers] [NAME...] [-l key=value] [-o table|wide|json|yaml] [--server URL]
       mcpctl get events [NAME] [-o table|json|yaml]
       mcpctl get sources [-o table|json|yaml]
       mcpctl get cluster [-o table|json|yaml]
       mcpctl get policies [NAME...] [-o table|json|yaml]

servers (the default): the MCP servers (all, or those named, or those whose tags match -l) with their
readiness. Columns: NAME, READY (the Ready condition), GENERATION, OBSERVED (the generation the status
describes), SOURCE (api, or the file that declares it), TOOLS (discovered), AGE; -o wide adds REASON,
URL (the proxy URL clients use) and MESSAGE. Files in watched directories that cannot be applied are
listed after the table (on stderr), as file:line:col: message.
events: recent events of every server (or of NAME), oldest first.
sources: the watched manifest directories: each file, the servers it declares, and every error in it
as file:line:col: /pointer: message.
cluster: the replicas of the control plane (an admin token): the leader (its epoch, since when) and each
replica's role, URL, version and last heartbeat; one replica, always the leader, with the embedded store.
policies: the admission policies (mcp-policy/admission; an admin token): NAME, ACTION (deny, warn, audit),
RULES, MATCHED and VIOLATING (stored servers the policy matches, and those that break a rule, as the
last audit found; - while it runs), SOURCE, AGE. mcpctl describe policy NAME lists the violations.
(A server named like a kind: mcpctl get servers NAME.)

Flags:
  -l, --selector SELECTOR  Only servers whose tags match: key=value, key!=value; comma-separated, repeatable.
  -o, --output FORMAT      table (default), wide, json or yaml: the API's data (an array without NAME).
  -h, --help               This help.
${CONNECTION_HELP}
Exit codes: 0 found, 1 not found or a server error, 2 usage error.
`;

function row(s: ServerView, at: Date, wide: boolean): string[] {
  const base = [s.name, readyOf(s), String(s.generation), String(s.status.observedGeneration), sourceLabel(s.source), String(s.tools.length), formatAge(s.createdAt, at)];
  if (!wide) return base;
  const ready = readyCondition(s);
  return [...base, ready?.reason || '-', s.proxyUrl, (ready?.message ?? '').replace(/\s+/g, ' ') || '-'];
}

const HEADER = ['NAME', 'READY', 'GENERATION', 'OBSERVED', 'SOURCE', 'TOOLS', 'AGE'];
const WIDE_HEADER = [...HEADER, 'REASON', 'URL', 'MESSAGE'];

/** Every error of every watched file, as `dir/file:line:col: /pointer: message`. */
function sourceErrorLines(sources: readonly WatchedDirectoryView[]): string[] {
  return sources.flatMap((src) =>
    src.files.flatMap((f) => f.errors.map((e) => `${join(src.path, f.path)}:${e.line}:${e.col}: ${e.pointer ? `${e.pointer}: ` : ''}${e.message}`)),
  );
}

function fail(io: CliIo, err: unknown): number {
  io.stderr.write(`error: ${describeError(err)}\n`);
  return EXIT_FAILED;
}

async function getServers(client: ApiClient, io: CliIo, names: readonly string[], selectorTexts: readonly string[], output: string | undefined): Promise<number> {
  const parsed = parseSelectors(selectorTexts);
  if (!parsed.ok) return usageError(io, 'get', parsed.message);
  let servers: ServerView[] = [];
  let missing = 0;
  try {
    if (names.length === 0) servers = (await listServers(client)).filter((s) => matches(s, parsed.selector));
    for (const name of names) {
      try {
        servers.push(await getServer(client, name));
      } catch (err) {
        if (!(err instanceof ApiError && err.status === 404)) throw err;
        io.stderr.write(`error: ${await notFoundMessage(client, name)}\n`);
        missing++;
      }
    }
  } catch (err) {
    return fail(io, err);
  }
  const code = missing > 0 ? EXIT_FAILED : EXIT_OK;
  if (output === 'json' || output === 'yaml') {
    writeMachine(io.stdout, output, names.length === 1 ? (servers[0] ?? null) : servers);
    return code;
  }
  const at = now(io);
  if (servers.length > 0) {
    const wide = output === 'wide';
    io.stdout.write(formatTable(wide ? WIDE_HEADER : HEADER, servers.map((s) => row(s, at, wide))));
  } else if (names.length === 0) {
    io.stderr.write(selectorTexts.length > 0 ? 'No MCP servers match the selector.\n' : 'No MCP servers found.\n');
  }
  if (names.length === 0) {
    // A broken file declares nothing the list could show: say so, or it would go unnoticed.
    let broken: string[] = [];
    try {
      broken = sourceErrorLines(await listSources(client));
    } catch {
      broken = [];
    }
    if (broken.length > 0) {
      io.stderr.write(`\nFiles in watched directories that are not applied (mcpctl get sources):\n${broken.map((l) => `  ${l}\n`).join('')}`);
    }
  }
  return code;
}

async function getEvents(client: ApiClient, io: CliIo, names: readonly string[], output: string | undefined): Promise<number> {
  if (names.length > 1) return usageError(io, 'get', `get events takes at most one NAME, got ${names.length}: ${names.join(' ')}`);
  const name = names[0];
  let events;
  try {
    events = name === undefined ? await listAllEvents(client, 1000) : await listEventsByName(client, name);
  } catch (err) {
    if (name !== undefined && err instanceof ApiError && err.status === 404) {
      io.stderr.write(`error: ${await notFoundMessage(client, name)}\n`);
      return EXIT_FAILED;
    }
    return fail(io, err);
  }
  /** The server an event is about: NAME when one was asked for (those events name no subject). */
  const serverOf = (fqn: string | undefined) => name ?? (fqn ?? '').slice((fqn ?? '').lastIndexOf(':') + 1);
  if (output === 'json' || output === 'yaml') {
    writeMachine(io.stdout, output, events);
    return EXIT_OK;
  }
  if (events.length === 0) {
    io.stderr.write('No events found.\n');
    return EXIT_OK;
  }
  const at = now(io);
  const sorted = [...events].sort((a, b) => Date.parse(a.lastTimestamp) - Date.parse(b.lastTimestamp));
  io.stdout.write(
    formatTable(
      ['LAST SEEN', 'TYPE', 'REASON', 'SERVER', 'COUNT', 'MESSAGE'],
      sorted.map((e) => [formatAge(e.lastTimestamp, at), e.type, e.reason, serverOf(e.subject?.fqn), String(e.count), e.message.replace(/\s+/g, ' ')]),
    ),
  );
  return EXIT_OK;
}

async function getSources(client: ApiClient, io: CliIo, names: readonly string[], output: string | undefined): Promise<number> {
  if (names.length > 0) return usageError(io, 'get', `get sources takes no NAME, got ${names.join(' ')}`);
  let sources;
  try {
    sources = await listSources(client);
  } catch (err) {
    return fail(io, err);
  }
  if (output === 'json' || output === 'yaml') {
    writeMachine(io.stdout, output, sources);
    return EXIT_OK;
  }
  if (sources.length === 0) {
    io.stderr.write('No watched manifest directories (serve --manifests DIR).\n');
    return EXIT_OK;
  }
  const rows = sources.flatMap((src) => {
    const ready = src.conditions.find((c) => c.type === READY);
    const dirRow = [src.path, '', ready ? `Ready=${ready.status}(${ready.reason})` : 'Ready=Unknown', ''];
    const fileRows = src.files.map((f) => [`  ${f.path}`, f.resources.join(',') || '-', f.errors.length > 0 ? 'error' : 'ok', String(f.errors.length)]);
    return [dirRow, ...fileRows];
  });
  io.stdout.write(formatTable(['SOURCE / FILE', 'SERVERS', 'STATUS', 'ERRORS'], rows));
  const errors = sourceErrorLines(sources);
  if (errors.length > 0) io.stdout.write(`\nErrors:\n${errors.map((l) => `  ${l}\n`).join('')}`);
  for (const src of sources) {
    const ready = src.conditions.find((c) => c.type === READY);
    if (ready && ready.status !== 'True' && ready.message) io.stdout.write(`\n${src.path}: ${ready.message}\n`);
  }
  return EXIT_OK;
}

export async function runGet(argv: string[], rawIo: CliIo): Promise<number> {
  const started = startCommand('get', argv, rawIo, FLAGS, GET_HELP);
  if (!started.ok) return started.code;
  const { flags, positionals } = started;
  const first = positionals[0];
  const kind = first !== undefined ? KIND_ALIASES[first] : undefined;
  const names = kind !== undefined ? positionals.slice(1) : positionals;
  const resolvedKind = kind ?? 'servers';
  const formats = resolvedKind === 'servers' ? ['table', 'wide', 'json', 'yaml'] : ['table', 'json', 'yaml'];
  const formatError = checkOutputFormat(flags.output, formats);
  if (formatError) return usageError(rawIo, 'get', formatError);
  if (resolvedKind !== 'servers' && flags.selector.length > 0) return usageError(rawIo, 'get', `-l selects servers; get ${resolvedKind} does not take it`);
  if (resolvedKind === 'servers' && names.length > 0 && flags.selector.length > 0) return usageError(rawIo, 'get', 'pass NAMEs or -l, not both');
  const connected = connect('get', flags, rawIo);
  if (!connected.ok) return connected.code;
  const { client, io } = connected;
  if (resolvedKind === 'events') return getEvents(client, io, names, flags.output);
  if (resolvedKind === 'sources') return getSources(client, io, names, flags.output);
  if (resolvedKind === 'cluster') return getCluster(client, io, names, flags.output);
  if (resolvedKind === 'policies') return getPolicies(client, io, names, flags.output);
  const code = await getServers(client, io, names, flags.selector, flags.output);
  // A mistyped kind reads as a server NAME: point at the kind.
  if (code === EXIT_FAILED && kind === undefined && first !== undefined && names.length === 1) {
    const kindMeant = closest(first, Object.keys(KIND_ALIASES));
    if (kindMeant) io.stderr.write(`hint: "mcpctl get ${kindMeant}" lists ${KIND_ALIASES[kindMeant]}\n`);
  }
  return code;
}
