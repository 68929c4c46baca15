// A pino logger that writes its JSON lines into memory, so a test can read what the
// server logged (levels, messages, request ids) without touching stdout.
import { Writable } from 'node:stream';
import pino, { type Logger } from 'pino';

export interface LogLine {
  level: number;
  msg: string;
  requestId?: string;
  [field: string]: unknown;
}

export interface CapturedLog {
  log: Logger;
  lines(): LogLine[];
}

/** pino's numeric levels, for assertions that read as words. */
export const LEVEL = { debug: 20, info: 30, warn: 40, error: 50, fatal: 60 } as const;

export function captureLog(level: pino.Level = 'info'): CapturedLog {
  const lines: LogLine[] = [];
  const sink = new Writable({
    write(chunk: Buffer | string, _encoding, done) {
      // pino writes one whole JSON line per call to a plain stream.
      for (const text of String(chunk).split('\n')) if (text) lines.push(JSON.parse(text) as LogLine);
      done();
    },
  });
  return { log: pino({ level }, sink), lines: () => lines.slice() };
}
