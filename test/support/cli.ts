// Runs the real `fota` command (bin/fota.js) in a child process, as a user would.
import { execFile } from 'node:child_process';
import { resolve } from 'node:path';

const BIN = resolve('bin/fota.js');

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** `env` adds to (or, with undefined, removes from) this process's environment. */
export function fota(args: string[], options: { cwd?: string; env?: Record<string, string | undefined> } = {}): Promise<CliResult> {
  const env = options.env ? { ...process.env, ...options.env } : undefined;
  return new Promise((done) => {
    execFile(process.execPath, [BIN, ...args], { cwd: options.cwd, env, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
      done({ code, stdout, stderr });
    });
  });
}
