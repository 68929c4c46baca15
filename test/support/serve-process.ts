// `fota serve` as a child process, as a user runs it, on a free loopback port: for the
// tests and benchmarks that need a real process (to kill it, profile it, or read its
// memory). Resolves once it prints where it listens; its stdout keeps being drained so it
// never blocks on a full pipe.
import { type ChildProcess, spawn } from 'node:child_process';
import { resolve } from 'node:path';

export interface ServeProcess {
  url: string;
  child: ChildProcess;
}

export interface ServeOptions {
  /** --data and --artifacts; else FOTA_DATA / FOTA_ARTIFACTS from `env`. */
  dataDir?: string;
  artifactsDir?: string;
  /** Settings on top of this process's environment (FOTA_LOG_LEVEL defaults to warn). */
  env?: Record<string, string>;
  /** Flags for node itself, e.g. --cpu-prof. */
  nodeArgs?: string[];
  /** Where the server's stderr goes: this process's (default), or a pipe the caller reads. */
  stderr?: 'inherit' | 'pipe';
}

export function spawnServe(options: ServeOptions = {}): Promise<ServeProcess> {
  const dirs = [...(options.dataDir ? ['--data', options.dataDir] : []), ...(options.artifactsDir ? ['--artifacts', options.artifactsDir] : [])];
  const child = spawn(process.execPath, [...(options.nodeArgs ?? []), resolve('bin/fota.js'), 'serve', '--port', '0', '--host', '127.0.0.1', ...dirs], {
    env: { ...process.env, FOTA_LOG_LEVEL: 'warn', ...options.env },
    stdio: ['ignore', 'pipe', options.stderr ?? 'inherit'],
  });
  return new Promise((done, fail) => {
    let out = '';
    const read = (piece: Buffer) => {
      out += piece.toString();
      const url = /listening on (http:\/\/\S+)/.exec(out)?.[1];
      if (!url) return;
      child.stdout?.off('data', read);
      child.stdout?.resume();
      done({ url, child });
    };
    child.stdout?.on('data', read);
    child.once('exit', (code) => fail(new Error(`fota serve exited early (${code}): ${out}`)));
  });
}
