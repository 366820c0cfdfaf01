// mcpctl watch [NAME]: one line per change of the MCP servers, until interrupted. The stream resumes
// after a disconnect from the last event it printed (Last-Event-ID), so nothing is missed or repeated;
// when the server no longer has that history (410), it lists again.
import { SseParser } from '../domain/sse-parser.js';
import { CONNECTION_FLAGS, CONNECTION_HELP } from './args.js';
import { API_PREFIX, resolveClient } from './client.js';
import { now, startCommand, usageError } from './command.js';
import { EXIT_FAILED, EXIT_OK, redactingIo, type CliIo } from './io.js';
import { checkOutputFormat } from './output.js';
import { join } from 'node:path';
import { listSources, type ServerView, type SourceFileView, type WatchedDirectoryView } from './resources.js';
import { matches, parseSelectors } from './selectors.js';
import { READY } from '../domain/conditions.js';

const FLAGS = {
  ...CONNECTION_FLAGS,
  output: { kind: 'string', short: 'o' },
  'resource-version': { kind: 'string' },
  bookmarks: { kind: 'boolean' },
  selector: { kind: 'list', short: 'l' },
} as const;

export const WATCH_HELP = `Usage: mcpctl watch [NAME...] [-l key=value] [-o line|json] [--resource-version N] [--bookmarks] [--server URL]

Prints one line per change of the MCP servers (or of those named, or whose tags match -l) until interrupted (Ctrl-C): first every
server as ADDED, then each change as it happens; status changes (conditions, tools) are MODIFIED.
  TIME  TYPE  NAME  rv=RESOURCE_VERSION  gen=GENERATION/OBSERVED  Ready=STATUS(REASON)  tools=N  MESSAGE
After a disconnect it reconnects and resumes after the last event it printed.
Files of watched directories that are refused (mcpctl get sources) are printed too, once when they fail
(FILE-ERROR, with every error as file:line:col) and once when they are no longer refused (FILE-OK); with NAMEs,
only files that declare one of them.

Flags:
  -l, --selector SELECTOR    Only servers whose tags match: key=value, key!=value; comma-separated, repeatable.
  -o, --output FORMAT        line (default) or json: each event as one JSON line ({"type", "object"}).
      --resource-version N   Start after this resourceVersion (replay what followed it) instead of listing.
      --bookmarks            Print BOOKMARK events too (they carry the latest resourceVersion).
  -h, --help                 This help.
${CONNECTION_HELP}
Exit codes: 0 interrupted, 1 the server refused the watch, 2 usage error.
`;

interface WatchEvent {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  object: Partial<ServerView> & { reason?: string; message?: string; resourceVersion?: string };
}

export interface WatchOptions {
  /** Ends the watch (Ctrl-C in the real command). */
  signal?: AbortSignal;
  /** The longest wait between reconnects. Default 10 s. */
  maxBackoffMs?: number;
  /** How often the watched directories' files are read (GET /sources) for FILE-ERROR/FILE-OK. Default 2 s. */
  sourcesIntervalMs?: number;
}

/** A watched file's errors (or none) as one printable unit; `key` changes whenever its errors do. */
interface FileReport {
  file: string;
  resources: string[];
  errors: SourceFileView['errors'];
  key: string;
}

function fileReports(sources: readonly WatchedDirectoryView[]): Map<string, FileReport> {
  const reports = new Map<string, FileReport>();
  for (const src of sources) {
    for (const f of src.files) {
      if (f.errors.length === 0) continue;
      const file = join(src.path, f.path);
      reports.set(file, { file, resources: f.resources, errors: f.errors, key: JSON.stringify(f.errors) });
    }
  }
  return reports;
}

function formatFileLine(type: 'FILE-ERROR' | 'FILE-OK', report: FileReport, at: Date): string {
  const time = at.toISOString().replace(/\.\d{3}Z$/, 'Z');
  if (type === 'FILE-OK') return `${time}  FILE-OK  ${report.file}  no longer refused`;
  const errors = report.errors.map((e) => `${report.file}:${e.line}:${e.col}: ${e.pointer ? `${e.pointer}: ` : ''}${e.message.replace(/\s+/g, ' ')}`);
  return `${time}  FILE-ERROR  ${report.file}  ${report.errors.length} error(s), not applied: ${errors.join('; ')}`;
}

/** The largest event the watch reads; a larger one ends the connection (and the watch resumes). */
const MAX_EVENT_BYTES = 64 * 1024 * 1024;

function formatLine(event: WatchEvent, at: Date): string {
  const o = event.object;
  const time = at.toISOString().replace(/\.\d{3}Z$/, 'Z');
  if (event.type === 'BOOKMARK') return `${time}  BOOKMARK  rv=${o.resourceVersion}`;
  if (event.type === 'DELETED') return `${time}  DELETED  ${o.name}  rv=${o.resourceVersion}`;
  const ready = o.status?.conditions.find((c) => c.type === READY);
  const readyText = ready ? `Ready=${ready.status}(${ready.reason})` : 'Ready=-';
  const parts = [time, event.type, o.name, `rv=${o.resourceVersion}`, `gen=${o.generation}/${o.status?.observedGeneration ?? 0}`, readyText, `tools=${o.tools?.length ?? 0}`];
  return `${parts.join('  ')}${ready?.message ? `  ${ready.message.replace(/\s+/g, ' ')}` : ''}`;
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });

export async function runWatch(argv: string[], rawIo: CliIo, options: WatchOptions = {}): Promise<number> {
  const started = startCommand('watch', argv, rawIo, FLAGS, WATCH_HELP);
  if (!started.ok) return started.code;
  const { flags, positionals } = started;
  if (positionals.length > 0 && flags.selector.length > 0) return usageError(rawIo, 'watch', 'pass NAMEs or -l, not both');
  const parsedSelector = parseSelectors(flags.selector);
  if (!parsedSelector.ok) return usageError(rawIo, 'watch', parsedSelector.message);
  const selector = parsedSelector.selector;
  const formatError = checkOutputFormat(flags.output, ['line', 'json']);
  if (formatError) return usageError(rawIo, 'watch', formatError);
  const rvFlag = flags['resource-version'];
  if (rvFlag !== undefined && !/^\d+$/.test(rvFlag)) return usageError(rawIo, 'watch', `--resource-version must be a whole number, got ${JSON.stringify(rvFlag)}`);
  const resolved = resolveClient(flags, rawIo);
  if (!resolved.ok) return usageError(rawIo, 'watch', resolved.message);
  const io = redactingIo(rawIo, resolved.token);
  const server = resolved.client.server;
  const names = new Set(positionals);
  /** Servers that matched -l: their DELETED events (which carry no tags) are printed too. */
  const selected = new Set<string>();
  const wanted = (event: WatchEvent): boolean => {
    if (event.type === 'BOOKMARK') return true;
    const eventName = event.object.name ?? '';
    if (names.size > 0) return names.has(eventName);
    if (selector.length === 0) return true;
    if (event.type === 'DELETED') return selected.delete(eventName);
    if (event.object.manifest && matches(event.object as ServerView, selector)) {
      selected.add(eventName);
      return true;
    }
    // It no longer matches: a later DELETED is not this watch's business.
    selected.delete(eventName);
    return false;
  };
  const signal = options.signal;
  const maxBackoffMs = options.maxBackoffMs ?? 10_000;

  let lastEventId: string | undefined = rvFlag;
  let connectedOnce = false;
  let failures = 0;

  const print = (id: string | undefined, data: string) => {
    let event: WatchEvent;
    try {
      event = JSON.parse(data) as WatchEvent;
    } catch {
      return;
    }
    if (event.type === 'ERROR') {
      if (event.object.reason === 'Expired') {
        lastEventId = undefined;
        io.stderr.write(`watch: ${event.object.message ?? 'history expired'} Listing again.\n`);
      } else {
        if (event.object.resourceVersion) lastEventId = event.object.resourceVersion;
        io.stderr.write(`watch: ${event.object.message ?? 'the server ended the stream'}\n`);
      }
      return;
    }
    if (id !== undefined && id !== '') lastEventId = id;
    if (event.type === 'BOOKMARK' && !flags.bookmarks) return;
    if (!wanted(event)) return;
    io.stdout.write(flags.output === 'json' ? `${JSON.stringify(event)}\n` : `${formatLine(event, now(io))}\n`);
  };

  // The refused files, read from the sources API beside the stream (a refused file writes nothing the
  // stream could carry): each failure is printed once, and once more when the file is applied again.
  let reported = new Map<string, FileReport>();
  const printFile = (type: 'FILE-ERROR' | 'FILE-OK', report: FileReport) => {
    if (names.size > 0 && !report.resources.some((n) => names.has(n))) return;
    io.stdout.write(
      flags.output === 'json'
        ? `${JSON.stringify({ type: type === 'FILE-OK' ? 'FILE_OK' : 'FILE_ERROR', object: { path: report.file, resources: report.resources, errors: type === 'FILE-OK' ? [] : report.errors } })}\n`
        : `${formatFileLine(type, report, now(io))}\n`,
    );
  };
  const filesStop = new AbortController();
  signal?.addEventListener('abort', () => filesStop.abort());
  const watchFiles = async () => {
    const interval = options.sourcesIntervalMs ?? 2000;
    while (!filesStop.signal.aborted) {
      let sources: WatchedDirectoryView[] | undefined;
      try {
        sources = await listSources(resolved.client);
      } catch {
        sources = undefined; // tried again at the next interval
      }
      if (sources && !filesStop.signal.aborted) {
        const current = fileReports(sources);
        for (const [file, report] of current) if (reported.get(file)?.key !== report.key) printFile('FILE-ERROR', report);
        for (const [file, report] of reported) if (!current.has(file)) printFile('FILE-OK', report);
        reported = current;
      }
      await sleep(interval, filesStop.signal);
    }
  };
  const token = resolved.token;
  const streamServers = async (): Promise<number> => {
    while (!signal?.aborted) {
      const headers: Record<string, string> = { authorization: `Bearer ${token}`, accept: 'text/event-stream' };
      if (lastEventId !== undefined) headers['last-event-id'] = lastEventId;
      let problem: string;
      try {
        const res = await fetch(`${server}${API_PREFIX}/mcp-servers?watch=true`, { headers, ...(signal ? { signal } : {}) });
        if (res.status === 410 && lastEventId !== undefined) {
          const body = (await res.json().catch(() => undefined)) as { error?: { message?: string } } | undefined;
          io.stderr.write(`watch: ${body?.error?.message ?? 'resourceVersion too old'} Listing again.\n`);
          lastEventId = undefined;
          continue;
        }
        if (!res.ok || !res.body) {
          const body = (await res.json().catch(() => undefined)) as { error?: { message?: string } } | undefined;
          const message = `${server} answered ${res.status}: ${body?.error?.message ?? res.statusText}`;
          // Refusals (bad token, bad request) do not get better by retrying; a server error might.
          if (res.status < 500) {
            io.stderr.write(`error: ${message}\n`);
            return EXIT_FAILED;
          }
          throw new Error(message);
        }
        if (connectedOnce) io.stderr.write(`watch: reconnected${lastEventId !== undefined ? `, resuming after resourceVersion ${lastEventId}` : ''}\n`);
        connectedOnce = true;
        failures = 0;
        const parser = new SseParser({ onEvent: (e) => print(e.id, e.data), maxEventBytes: MAX_EVENT_BYTES });
        for await (const chunk of res.body) parser.push(chunk as Uint8Array);
        problem = 'the server ended the stream';
      } catch (err) {
        if (signal?.aborted) break;
        const cause = (err as { cause?: { code?: string } }).cause?.code;
        problem = cause ?? (err instanceof Error ? err.message : String(err));
        if (!connectedOnce) {
          io.stderr.write(`error: cannot watch ${server}: ${problem}\n`);
          return EXIT_FAILED;
        }
      }
      if (signal?.aborted) break;
      const delay = Math.min(maxBackoffMs, 250 * 2 ** Math.min(failures++, 8));
      io.stderr.write(`watch: ${problem}; reconnecting in ${(delay / 1000).toFixed(1)}s\n`);
      await sleep(delay, signal);
    }
    return EXIT_OK;
  };
  const files = watchFiles();
  try {
    return await streamServers();
  } finally {
    filesStop.abort();
    await files;
  }
}
