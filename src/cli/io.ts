// What every subcommand shares: option parsing that turns mistakes into usage errors
// (exit 2), a place to write, and the exit codes of the contract.
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { usageMessage } from './usage-errors.ts';

export const ExitCode = { Ok: 0, Rejected: 1, Usage: 2, Internal: 70 } as const;

export class UsageError extends Error {}

export interface Output {
  out: (text: string) => void;
  err: (text: string) => void;
  /** True when stderr is a terminal, so progress may redraw one line. */
  interactive: boolean;
}

export const processOutput: Output = {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
  interactive: Boolean(process.stderr.isTTY),
};

type Options = NonNullable<ParseArgsConfig['options']>;

export function parseOptions<T extends Options>(args: string[], options: T, positionals = 0) {
  let parsed;
  try {
    parsed = parseArgs({ args, options: { ...options, help: { type: 'boolean', short: 'h' } }, allowPositionals: positionals > 0, strict: true });
  } catch (err) {
    throw new UsageError(usageMessage(err as Error & { code?: unknown }, [...Object.keys(options), 'help']));
  }
  if (parsed.positionals.length > positionals) throw new UsageError(`unexpected argument ${parsed.positionals[positionals]}`);
  return parsed;
}

export function required<T>(value: T | undefined, flag: string): T {
  if (value === undefined) throw new UsageError(`missing ${flag}`);
  return value;
}

export function integerOption(value: string | undefined, flag: string, min = 0): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < min) throw new UsageError(`${flag} must be a whole number >= ${min}, got ${value}`);
  return n;
}

export function formatBytes(n: number): string {
  return n.toLocaleString('en-US');
}
