// Runs the `fota` command: the real one (bin/fota.js) in a child process, as a user
// would, or its `main` in this process with the output captured. A child process costs
// half a second to a second of a core (Node, tsx and the command's modules) before it
// does anything; `main` gives the same parsing, messages and exit codes without it. A test
// file that uses `main` keeps a case that runs the real command, which alone shows what
// the process itself adds (its exit code and its streams).
import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import type { Output } from '../../src/cli/io.ts';
import { main } from '../../src/cli/main.ts';

const BIN = resolve('bin/fota.js');

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** `env` adds to (or, with undefined, removes from) this process's environment. */
export function fota(args: string[], options: { cwd?: string; env?: Record<string, string | undefined> } = {}): Promise<CliResult> {
  // FOTA_FROM_SOURCE: the sources under test, through tsx, never a build in dist/.
  const env = { ...process.env, FOTA_FROM_SOURCE: '1', ...options.env };
  return new Promise((done) => {
    execFile(process.execPath, [BIN, ...args], { cwd: options.cwd, env, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
      done({ code, stdout, stderr });
    });
  });
}

/** `fota` in this process; `interactive` says whether its stderr would be a terminal. */
export async function fotaInProcess(args: string[], options: { interactive?: boolean } = {}): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  const io: Output = { out: (text) => void (stdout += text), err: (text) => void (stderr += text), interactive: options.interactive ?? false };
  const code = await main(args, io);
  return { code, stdout, stderr };
}
