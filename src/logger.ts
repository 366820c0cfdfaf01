// pino, JSON lines by default; a short human-readable line when the output is a terminal.
// Every line written inside runWithLogFields() (e.g. one reconcile) carries its fields.
import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import type { Logger } from './domain/logger.js';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

const LEVEL_NAMES: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };

function humanStream(out: NodeJS.WritableStream): Writable {
  return new Writable({
    write(chunk: Buffer, _enc, done) {
      try {
        const { level, time, msg, pid: _pid, hostname: _host, ...rest } = JSON.parse(chunk.toString()) as Record<string, unknown>;
        const fields = Object.entries(rest)
          .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
          .join(' ');
        const t = new Date(time as number).toISOString().slice(11, 23);
        out.write(`${t} ${(LEVEL_NAMES[level as number] ?? String(level)).padEnd(5)} ${String(msg ?? '')}${fields ? `  ${fields}` : ''}\n`);
      } catch {
        out.write(chunk);
      }
      done();
    },
  });
}

const logFields = new AsyncLocalStorage<Record<string, unknown>>();

/** Runs fn (and everything it starts) so that each log line it writes carries `fields`. */
export function runWithLogFields<T>(fields: Record<string, unknown>, fn: () => T): T {
  return logFields.run(fields, fn);
}

/**
 * A reconcile id per reconcile: the reconciler's lines get { reconcileId, key } from the async context,
 * and the controller's lines about a key (written after the reconcile returned) get the id of that key's
 * latest reconcile. A key is never reconciled twice at once, so the id per key is unambiguous.
 */
export class ReconcileLogContext {
  private readonly ids = new Map<string, string>();

  constructor(private readonly newId: () => string = () => randomUUID()) {}

  wrap<R>(reconcile: (key: string) => R): (key: string) => R {
    return (key) => {
      const reconcileId = this.newId();
      this.ids.set(key, reconcileId);
      return runWithLogFields({ reconcileId, key }, () => reconcile(key));
    };
  }

  /** For the controller: lines with a `key` field get that key's reconcile id. */
  controllerLogger(logger: Logger): Logger {
    const withId = (fields: Record<string, unknown>) => {
      const id = typeof fields.key === 'string' ? this.ids.get(fields.key) : undefined;
      return id === undefined ? fields : { reconcileId: id, ...fields };
    };
    return {
      debug: (fields, message) => logger.debug(withId(fields), message),
      info: (fields, message) => logger.info(withId(fields), message),
      warn: (fields, message) => logger.warn(withId(fields), message),
      error: (fields, message) => logger.error(withId(fields), message),
      child: (fields) => this.controllerLogger(logger.child(fields)),
    };
  }

  /** The controller has reported the outcome of key's reconcile. */
  finished(key: string): void {
    this.ids.delete(key);
  }
}

export function createLogger(options: { level: LogLevel; destination?: NodeJS.WritableStream; human?: boolean }): Logger {
  const destination = options.destination ?? process.stdout;
  const human = options.human ?? (destination === process.stdout && process.stdout.isTTY === true);
  return pino(
    {
      level: options.level,
      base: undefined,
      // A fresh object each time: pino assigns the line's own fields onto it (they win).
      mixin: () => ({ ...logFields.getStore() }),
      // Defence in depth: nothing here logs header values, but if a caller ever does, they are censored.
      redact: { paths: ['headers', '*.headers', 'authorization', '*.authorization', 'token', '*.token'], censor: '[redacted]' },
    },
    human ? humanStream(destination) : destination,
  ) as unknown as Logger;
}
