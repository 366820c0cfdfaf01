// The data-plane thread's entry: a data-plane host built from workerData, talking to the control plane
// over parentPort (host-options.ts: ToHost, FromHost). Its log lines go to the control plane's logger;
// its upstream-health reports to the control plane's status; its sessions are counted there.
import { parentPort, workerData } from 'node:worker_threads';
import type { Logger } from '../../domain/logger.js';
import { startDataPlaneHost, type DataPlaneHost } from './data-plane-host.js';
import type { DataPlaneHostOptions, FromHost, ToHost } from './host-options.js';

const port = parentPort!;
const post = (message: FromHost) => port.postMessage(message);

/** Lines go to the parent, which writes them with its logger: fields made plain data first. */
function portLogger(bindings: Record<string, unknown>): Logger {
  const line = (level: 'debug' | 'info' | 'warn' | 'error') => (fields: Record<string, unknown>, message: string) => {
    try {
      post({ type: 'log', level, bindings, fields, message });
    } catch {
      post({ type: 'log', level, bindings, fields: JSON.parse(JSON.stringify(fields, (_k, v: unknown) => (v instanceof Error ? v.message : v))) as Record<string, unknown>, message });
    }
  };
  return { debug: line('debug'), info: line('info'), warn: line('warn'), error: line('error'), child: (more) => portLogger({ ...bindings, ...more }) };
}

let host: DataPlaneHost | undefined;
port.on('message', (message: ToHost) => {
  if (!host) return;
  switch (message.type) {
    case 'changed':
      return host.changed(message.fqns);
    case 'publicUrl':
      return host.setPublicUrl(message.url);
    case 'endSessionsOf':
      return void host.dataPlane.endSessionsOf(message.fqn, message.subject, message.why);
    case 'metrics':
      void host.registry.getMetricsAsJSON().then((metrics) => post({ type: 'metrics', id: message.id, metrics }));
      return;
    case 'close':
      void host.close().then(() => {
        post({ type: 'closed' });
        port.close();
      });
      return;
  }
});

startDataPlaneHost(workerData as DataPlaneHostOptions, {
  logger: portLogger({}),
  upstreamHealth: { report: (fqn, observation) => post({ type: 'health', fqn, observation }) },
  onSession: (name, delta) => post({ type: 'session', name, delta }),
}).then(
  (started) => {
    host = started;
    post({ type: 'listening', port: started.port });
  },
  (err: unknown) => {
    post({ type: 'startFailed', message: err instanceof Error ? err.message : String(err) });
    port.close();
  },
);
