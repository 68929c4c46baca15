// Reads what a captured logger (capturedLog in server.ts) wrote: each JSON line parsed,
// and pino's level numbers by name, so assertions read as words.
export interface LogLine {
  level: number;
  msg: string;
  requestId?: string;
  [field: string]: unknown;
}

export const LEVEL = { debug: 20, info: 30, warn: 40, error: 50, fatal: 60 } as const;

export function parseLog(lines: string[]): LogLine[] {
  return lines.map((line) => JSON.parse(line) as LogLine);
}
