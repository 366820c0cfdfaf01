// mcpctl serve: start the control plane in the foreground until SIGINT/SIGTERM.
// Contract: the first SIGINT/SIGTERM closes everything (HTTP, workers, databases, the data directory
// lock) and exits 0; a second one exits at once (130). A replica that lost the leader lease closes the same
// way and exits 1, and so does one whose data-plane thread ended on its own (a crash took the public
// listener with it). Output that cannot be written (stdout or stderr
// a closed pipe, as with `npm start | tee` and Ctrl-C) is dropped: it never fails the shutdown.
// A data directory in use by another control plane exits 2 naming its PID; so do a secret key that does not
// open a PostgreSQL store's secrets and a schema newer than this build (at the start, or found later by the
// leader: src/cluster/schema-guard.ts).
import { ConfigError, parseServeConfig, serveHelp } from '../config.js';
import { DataDirLockedError } from '../data-dir-lock.js';
import { SecretKeyMismatchError } from '../cluster/key-check.js';
import { SchemaTooNewError } from '../store/postgres/schema-too-new.js';
import { applyHeapGrowth } from '../heap-growth.js';
import { startControlPlane } from '../main.js';

const EXIT_INTERRUPTED = 130;
const EXIT_LEADERSHIP_LOST = 1;
const EXIT_DATA_PLANE_LOST = 1;
/** A refusal that names what to fix (the data directory in use, another replica's key, a newer schema). */
const EXIT_REFUSED = 2;

/** stdout/stderr errors (EPIPE, a destroyed stream) are dropped instead of crashing the process. */
function ignoreOutputErrors(): void {
  for (const stream of [process.stdout, process.stderr]) {
    if (stream.listenerCount('error') === 0) stream.on('error', () => undefined);
  }
}

/** A write that never throws: the reader of our output may be gone. */
function say(text: string): void {
  try {
    process.stderr.write(text);
  } catch {
    // Nowhere to report it.
  }
}

export async function serveCommand(argv: string[]): Promise<number> {
  ignoreOutputErrors();
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(serveHelp());
    return 0;
  }
  let config;
  try {
    config = parseServeConfig(argv, process.env);
  } catch (err) {
    if (err instanceof ConfigError) {
      say(`mcpctl serve: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
  // Signals that arrive while starting are honoured once the start finished (or failed).
  let stopSignal: string | undefined;
  let onStop: ((signal: string) => void) | undefined;
  const handle = (signal: NodeJS.Signals) => {
    if (stopSignal !== undefined) {
      say(`received ${signal} again, exiting without a clean shutdown\n`);
      process.exit(EXIT_INTERRUPTED);
    }
    stopSignal = signal;
    onStop?.(signal);
  };
  process.on('SIGINT', handle);
  process.on('SIGTERM', handle);

  let cp: { url: string; publicUrl?: string; adminTokenSource?: string; close(): Promise<void> };
  let exitCode = 0;
  let why: string | undefined;
  try {
    // A replica that lost the leader lease ends with 1 after a clean close: its leader work starts once per
    // process, so its supervisor starts it again, as a follower.
    applyHeapGrowth(config.heapGrowthPercent);
    // A gateway-only replica's modules (the data plane on the main thread) are loaded for that role only.
    cp = config.role === 'gateway' ? await (await import('../gateway/host/gateway-replica.js')).startGatewayReplica(config) : await startControlPlane(config, {
      onLeadershipLost: (schemaTooNew) => {
        // A newer build migrated the schema: exit as a start on it does (2), since a restart refuses too.
        exitCode = schemaTooNew ? EXIT_REFUSED : EXIT_LEADERSHIP_LOST;
        why = schemaTooNew
          ? `the PostgreSQL schema is at version ${schemaTooNew.databaseVersion}, newer than this build's ${schemaTooNew.buildVersion}: shutting down (run the newer version of mcpctl)`
          : 'lost the leader lease, shutting down (restart this replica: it rejoins as a follower)';
        handle('SIGTERM');
      },
      // The public listener went with the thread: end, so a supervisor starts the process again.
      onDataPlaneLost: (error) => {
        exitCode = EXIT_DATA_PLANE_LOST;
        why = `the data-plane thread ended (${error.message}), shutting down (restart the process)`;
        handle('SIGTERM');
      },
    });
  } catch (err) {
    // Refusals that name what to fix: the data directory in use, another replica's key, a newer schema.
    if (err instanceof DataDirLockedError || err instanceof SecretKeyMismatchError || err instanceof SchemaTooNewError) {
      say(`mcpctl serve: ${err.message}\n`);
      return EXIT_REFUSED;
    }
    throw err;
  }
  say(
    config.role === 'gateway'
      ? `mcp-control-plane gateway serving on ${cp.url} (/mcp/{name}, /healthz, /readyz, /metrics; the API is the control plane's)\n`
      : `mcp-control-plane serving on ${cp.url} (public URL ${cp.publicUrl})\n` +
          `Admin token: ${cp.adminTokenSource === 'flag or environment' ? 'as given by --admin-token / MCP_CP_ADMIN_TOKEN' : `in ${cp.adminTokenSource} (read it with: cat ${cp.adminTokenSource})`}\n`,
  );
  const running = cp;
  await new Promise<void>((resolveStop) => {
    onStop = (signal) => {
      say(why !== undefined ? `${why}\n` : `received ${signal}, shutting down\n`);
      running.close().then(resolveStop, (err: unknown) => {
        say(`shutdown: ${err instanceof Error ? err.message : String(err)}\n`);
        resolveStop();
      });
    };
    if (stopSignal !== undefined) onStop(stopSignal);
  });
  return exitCode;
}
