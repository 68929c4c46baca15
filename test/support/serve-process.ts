// `fota serve` and `fota worker` as child processes, as a user runs them, on free loopback
// ports: for the tests and benchmarks that need a real process (to kill it, profile it,
// read its memory, or run several on one data directory). Each resolves once the process
// says it is ready; its stdout keeps being drained so it never blocks on a full pipe.
import { type ChildProcess, spawn } from 'node:child_process';
import { resolve } from 'node:path';

export interface ServeProcess {
  url: string;
  child: ChildProcess;
}

export interface WorkerProcess {
  /** Where its /healthz and /metrics are (a worker listens only when given a port). */
  url?: string;
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
  /** More flags for the command, e.g. --no-jobs. */
  args?: string[];
  /** Where the process's stderr goes: this process's (default), or a pipe the caller reads. */
  stderr?: 'inherit' | 'pipe';
}

export async function spawnServe(options: ServeOptions = {}): Promise<ServeProcess> {
  const { child, match } = await spawnFota(['serve', '--port', '0', '--host', '127.0.0.1'], options, /listening on (http:\/\/\S+)/);
  return { url: match[1] ?? '', child };
}

/** `fota worker`; with `port` (0: any free one) it serves /healthz and /metrics. */
export async function spawnWorker(options: ServeOptions & { port?: number } = {}): Promise<WorkerProcess> {
  const port = options.port === undefined ? [] : ['--port', String(options.port), '--host', '127.0.0.1'];
  const { child, match } = await spawnFota(['worker', ...port], options, /fota worker (?:listening on (http:\/\/\S+)|running)/);
  return { ...(match[1] ? { url: match[1] } : {}), child };
}

/** Resolves once the process exits; at once if it has. */
export function exited(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((done) => child.once('exit', (code) => done(code)));
}

function spawnFota(command: string[], options: ServeOptions, ready: RegExp): Promise<{ child: ChildProcess; match: RegExpExecArray }> {
  const dirs = [...(options.dataDir ? ['--data', options.dataDir] : []), ...(options.artifactsDir ? ['--artifacts', options.artifactsDir] : [])];
  const child = spawn(process.execPath, [...(options.nodeArgs ?? []), resolve('bin/fota.js'), ...command, ...dirs, ...(options.args ?? [])], {
    // FOTA_FROM_SOURCE: the sources under test, through tsx, never a build in dist/.
    env: { ...process.env, FOTA_LOG_LEVEL: 'warn', FOTA_FROM_SOURCE: '1', ...options.env },
    stdio: ['ignore', 'pipe', options.stderr ?? 'inherit'],
  });
  return new Promise((done, fail) => {
    let out = '';
    const read = (piece: Buffer) => {
      out += piece.toString();
      const match = ready.exec(out);
      if (!match) return;
      child.stdout?.off('data', read);
      child.stdout?.resume();
      done({ child, match });
    };
    child.stdout?.on('data', read);
    child.once('exit', (code) => fail(new Error(`fota ${command[0]} exited early (${code}): ${out}`)));
  });
}
