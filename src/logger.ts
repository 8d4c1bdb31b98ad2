import { createRequire } from 'node:module';
import pino, { type Logger } from 'pino';

export type LogFormat = 'json' | 'pretty';

/** pino-pretty's own options, so a line reads "INFO: GraphQL at …" with the fields after it. */
type PrettyFactory = (options: { sync: boolean; colorize: boolean; ignore: string; translateTime: string }) => NodeJS.WritableStream;

/**
 * JSON lines for collectors; readable lines for a person at a terminal. The pretty writer is
 * loaded only when asked for, and writes synchronously in this thread (no worker), so a line
 * logged just before exit is never lost.
 */
export function createLogger(level: string, format: LogFormat = 'json'): Logger {
  if (format === 'json') return pino({ name: 'podgraph', level });
  const pretty = createRequire(import.meta.url)('pino-pretty') as PrettyFactory;
  return pino({ name: 'podgraph', level }, pretty({ sync: true, colorize: Boolean(process.stdout.isTTY), ignore: 'pid,hostname,name', translateTime: 'SYS:HH:MM:ss' }));
}
