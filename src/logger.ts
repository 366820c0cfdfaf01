// pino, JSON lines by default; a short human-readable line when the output is a terminal.
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

export function createLogger(options: { level: LogLevel; destination?: NodeJS.WritableStream; human?: boolean }): Logger {
  const destination = options.destination ?? process.stdout;
  const human = options.human ?? (destination === process.stdout && process.stdout.isTTY === true);
  return pino(
    {
      level: options.level,
      base: undefined,
      // Defence in depth: nothing here logs header values, but if a caller ever does, they are censored.
      redact: { paths: ['headers', '*.headers', 'authorization', '*.authorization', 'token', '*.token'], censor: '[redacted]' },
    },
    human ? humanStream(destination) : destination,
  ) as unknown as Logger;
}
