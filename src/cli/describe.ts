// mcpctl describe NAME: the spec (masked by the server), conditions, tools, events and the gateway entry.
import { stringify as toYaml } from 'yaml';
import { CONNECTION_FLAGS, CONNECTION_HELP } from './args.js';
import { ApiError, describeError, type ApiClient } from './client.js';
import { connect, exactlyOneName, now, startCommand } from './command.js';
import { EXIT_FAILED, EXIT_OK, type CliIo } from './io.js';
import { formatAge, formatTable, indent } from './output.js';
import { describePolicy } from './policies.js';
import { gatewayEntry, getServer, listEvents, notFoundMessage, readyOf, type GatewayEntryView, type ServerView } from './resources.js';

const FLAGS = { ...CONNECTION_FLAGS } as const;

export const DESCRIBE_HELP = `Usage: mcpctl describe NAME [--server URL]
       mcpctl describe policy NAME [--server URL]

Shows one MCP server: its spec (secrets masked), status conditions, discovered tools, recent events,
and what the gateway serves for it now.
policy NAME: one admission policy (an admin token): its match, rules, the audit of the stored servers
(how many it matches, each violation: server, rule, message) and its events.

Flags:
  -h, --help   This help.
${CONNECTION_HELP}
Exit codes: 0 found, 1 not found or a server error, 2 usage error.
`;

type Section<T> = { ok: true; value: T } | { ok: false; message: string };

async function section<T>(read: () => Promise<T>): Promise<Section<T>> {
  try {
    return { ok: true, value: await read() };
  } catch (err) {
    return { ok: false, message: describeError(err) };
  }
}

function field(label: string, value: string): string {
  return `${`${label}:`.padEnd(14)}${value}\n`;
}

function describeSource(s: ServerView): string {
  const src = s.source as { kind: string; root?: string; path?: string; document?: number };
  return src.kind === 'file' ? `file ${src.path} (document ${src.document}) in ${src.root}` : src.kind;
}

function gatewayText(entry: GatewayEntryView | undefined): string {
  if (!entry) return '  <none>: the gateway does not serve this server (not reconciled yet, or it failed; see Conditions)\n';
  const headers = Object.keys(entry.headers);
  return indent(
    [
      field('Upstream URL', entry.upstreamUrl),
      field('Transport', entry.openapi ? openApiText(entry.openapi) : (entry.transport ?? '<not detected yet>')),
      field('Generation', String(entry.generation)),
      field('Headers', headers.length > 0 ? headers.map((h) => `${h}=${entry.headers[h]}`).join(', ') : '<none>'),
      field('Passthrough', String(entry.passthroughAuth)),
      field('TLS', `${entry.tls.rejectUnauthorized ? 'verified' : 'NOT verified'}${entry.tls.caCert ? ', custom CA' : ''}`),
      field('Disabled', entry.disabledTools.length > 0 ? entry.disabledTools.join(', ') : '<none>'),
      // mcp-server/virtual: each source and the tools it serves here.
      ...(entry.virtual ? [field('Sources', entry.virtual.sources.map((src) => `${src.name} (${src.tools === null ? 'every tool' : src.tools.join(', ') || 'no tools'})`).join('; ') || '<none>')] : []),
      field('Config hash', entry.configHash),
      field('Updated', entry.updatedAt),
    ].join(''),
    '  ',
  );
}

/** mcp-server/openapi: no MCP upstream; the gateway serves the document's operations itself. */
function openApiText(openapi: NonNullable<GatewayEntryView['openapi']>): string {
  const n = openapi.operations.length;
  return `none: the gateway serves ${n} operation${n === 1 ? '' : 's'} of the OpenAPI document (sha256 ${openapi.specHash.slice(0, 12)}) itself`;
}

async function render(client: ApiClient, s: ServerView, at: Date): Promise<string> {
  const [events, gateway] = await Promise.all([section(() => listEvents(client, s.id)), section(() => gatewayEntry(client, s.fqn))]);
  let out = '';
  out += field('Name', s.name);
  out += field('FQN', s.fqn);
  out += field('ID', s.id);
  out += field('Source', describeSource(s));
  out += field('Ready', readyOf(s));
  out += field('Generation', `${s.generation} (observed ${s.status.observedGeneration})`);
  out += field('Created', `${s.createdAt} (${formatAge(s.createdAt, at)} ago)${s.createdBySubject?.subjectSlug ? ` by ${s.createdBySubject.subjectSlug}` : ''}`);
  out += field('Updated', s.updatedAt);
  out += field('Proxy URL', s.proxyUrl);
  if (s.authStatus) out += field('Auth', `${s.authStatus.status}${s.authStatus.message ? `: ${s.authStatus.message}` : ''}`);
  out += `Spec:\n${indent(toYaml(s.manifest, { lineWidth: 0 }), '  ')}`;

  out += 'Conditions:\n';
  out +=
    s.status.conditions.length === 0
      ? '  <none>: not reconciled yet\n'
      : indent(
          formatTable(
            ['TYPE', 'STATUS', 'REASON', 'AGE', 'MESSAGE'],
            s.status.conditions.map((c) => [c.type, c.status, c.reason, formatAge(c.lastTransitionTime, at), c.message]),
          ),
          '  ',
        );

  out += `Tools (${s.tools.length}):\n`;
  out +=
    s.tools.length === 0
      ? '  <none>\n'
      : indent(formatTable(['NAME', 'DISABLED', 'DESCRIPTION'], s.tools.map((t) => [t.name, t.disabled ? 'yes' : 'no', (t.description ?? '').split('\n')[0] ?? ''])), '  ');

  out += 'Events:\n';
  if (!events.ok) out += `  <unavailable: ${events.message}>\n`;
  else if (events.value.length === 0) out += '  <none>\n';
  else
    out += indent(
      formatTable(
        ['TYPE', 'REASON', 'AGE', 'COUNT', 'MESSAGE'],
        events.value.map((e) => [e.type, e.reason, formatAge(e.lastTimestamp, at), String(e.count), e.message]),
      ),
      '  ',
    );

  out += 'Gateway:\n';
  out += gateway.ok ? gatewayText(gateway.value) : `  <unavailable: ${gateway.message}>\n`;
  return out;
}

export async function runDescribe(argv: string[], rawIo: CliIo): Promise<number> {
  const started = startCommand('describe', argv, rawIo, FLAGS, DESCRIBE_HELP);
  if (!started.ok) return started.code;
  if (started.positionals[0] === 'policy' && started.positionals.length > 1) {
    const connectedPolicy = connect('describe', started.flags, rawIo);
    if (!connectedPolicy.ok) return connectedPolicy.code;
    return describePolicy(connectedPolicy.client, connectedPolicy.io, started.positionals.slice(1));
  }
  const named = exactlyOneName('describe', started.positionals, rawIo);
  if (!named.ok) return named.code;
  const connected = connect('describe', started.flags, rawIo);
  if (!connected.ok) return connected.code;
  const { client, io } = connected;
  let server: ServerView;
  try {
    server = await getServer(client, named.name);
  } catch (err) {
    const message = err instanceof ApiError && err.status === 404 ? await notFoundMessage(client, named.name) : describeError(err);
    io.stderr.write(`error: ${message}\n`);
    return EXIT_FAILED;
  }
  io.stdout.write(await render(client, server, now(io)));
  return EXIT_OK;
}
