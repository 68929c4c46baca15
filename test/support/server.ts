// A real server for API tests: temp data and artifact dirs, loopback HTTP on a free port,
// silent logs, and a token for each role (two manufacturers, to test scoping).
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import pino, { type Logger } from 'pino';
import { expect } from 'vitest';
import { loadConfig, type Config } from '../../src/config.ts';
import type { Notifier } from '../../src/omadm/notifier.ts';
import type { RunnerOptions } from '../../src/packages/pipeline/runner.ts';
import { startServer, type RunningServer } from '../../src/start.ts';
import { jobsOf } from '../../src/store/queries/builds.ts';
import { createToken } from '../../src/tokens/tokens.ts';
import { testDatabaseUrl } from './store.ts';
import { afterThis, tempDirFor } from './harness.ts';

/** Real time plus an offset a test moves forward (backoffs, timeouts, soak times, windows). */
export class TestClock {
  private offset = 0;
  now(): number {
    return Date.now() + this.offset;
  }
  advance(ms: number): void {
    this.offset += ms;
  }
}

export interface TestServer extends RunningServer {
  clock: TestClock;
  tokens: { admin: string; acme: string; globex: string; operator: string };
  api(path: string, init?: RequestInit & { token?: string }): Promise<Response>;
  /** POSTs `body` as JSON (as the operator unless `token` is another) and returns the answer's JSON; any status but 2xx throws with it. */
  postJson<T>(path: string, body: unknown, token?: string): Promise<T>;
  /** Polls a build until it is ready or failed. */
  settled(buildId: string, timeoutMs?: number): Promise<BuildBody>;
  /**
   * Uploads `image` as `version` of `model` (as manufacturer acme unless `token` is
   * another), checks the upload is accepted (202) and waits until the build is ready or
   * failed: what a test that needs a build does before its own assertions.
   */
  upload(model: string, version: string, image: Uint8Array, token?: string): Promise<BuildBody>;
}

export interface BuildBody {
  id: string;
  status: string;
  version: string;
  failureReason: string | null;
  packages: Array<{ id: string; kind: string; fromVersion: string | null; toVersion: string; size: number; sha256: string }>;
}

/** A logger whose JSON lines a test reads back (what an operator's log would show). */
export function capturedLog(level: 'debug' | 'trace' = 'debug'): { log: Logger; lines: () => string[] } {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(...chunk.toString('utf8').split('\n').filter((l) => l !== ''));
      done();
    },
  });
  return { log: pino({ level }, sink), lines: () => [...lines] };
}

/** Device webhooks on this machine (test hooks, the fleet simulator's) need the server to allow them. */
export const ALLOW_LOOPBACK_WEBHOOKS = { FOTA_WEBHOOK_ALLOW_PRIVATE: 'true' } as const;

/**
 * Starts a server for the current test, or file (from a beforeAll); it stops when that ends. `env` is
 * read as the server's environment (settings), `notifier` replaces the webhook one, `runner`
 * the job runner's quick test lease and poll, and logs are silent unless a logger is given.
 */
export async function startTestServer(overrides: Partial<Config> = {}, options: { env?: NodeJS.ProcessEnv; notifier?: Notifier; log?: Logger; runner?: RunnerOptions } = {}): Promise<TestServer> {
  const dir = tempDirFor('server', afterThis);
  const env = options.env ?? {};
  const defaults = loadConfig(env);
  // Campaigns evaluate after every device result, so tests can check each step.
  const databaseUrl = await testDatabaseUrl();
  const config = loadConfig(env, { dataDir: join(dir, 'data'), artifactsDir: join(dir, 'artifacts'), port: 0, adminToken: 'test-admin-token-0123456789', campaigns: { ...defaults.campaigns, evaluateEveryMs: 0 }, ...(databaseUrl ? { databaseUrl, masterKey: randomBytes(32) } : {}), ...overrides });
  const clock = new TestClock();
  const server = await startServer(config, { host: '127.0.0.1', log: options.log ?? pino({ level: 'silent' }), runner: options.runner ?? { leaseMs: 5_000, pollMs: 100 }, clock, ...(options.notifier ? { notifier: options.notifier } : {}) });
  afterThis(() => server.close());
  const mk = async (role: 'manufacturer' | 'operator', name: string, manufacturer?: string) =>
    (await createToken(server.ctx, 'test', { role, name, ...(manufacturer ? { manufacturer } : {}) })).token;
  const tokens = { admin: 'test-admin-token-0123456789', acme: await mk('manufacturer', 'acme ci', 'acme'), globex: await mk('manufacturer', 'globex ci', 'globex'), operator: await mk('operator', 'ops') };
  const api: TestServer['api'] = (path, init = {}) => {
    const headers = new Headers(init.headers);
    if (init.token) headers.set('authorization', `Bearer ${init.token}`);
    return fetch(`${server.url}${path}`, { ...init, headers, ...(init.body ? { duplex: 'half' } : {}) } as RequestInit);
  };
  // Well inside the test timeout (120 s), so a build that never settles fails with its
  // jobs' states rather than as a test timeout that says nothing of where it hangs.
  const settled: TestServer['settled'] = async (buildId, timeoutMs = 60_000) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const body = (await (await api(`/api/v1/builds/${buildId}`, { token: tokens.admin })).json()) as BuildBody;
      if (body.status !== 'processing') return body;
      if (Date.now() > deadline) throw new Error(`build ${buildId} still processing after ${timeoutMs} ms: ${await describeJobs(server, buildId)}`);
      // A small build settles in tens of milliseconds; asking costs a local request.
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  const upload: TestServer['upload'] = async (model, version, image, token = tokens.acme) => {
    const res = await api(`/api/v1/builds?model=${encodeURIComponent(model)}&version=${encodeURIComponent(version)}`, { method: 'POST', token, body: image });
    const text = await res.text();
    expect(res.status, text).toBe(202);
    return settled((JSON.parse(text) as { id: string }).id);
  };
  const postJson: TestServer['postJson'] = async <T>(path: string, body: unknown, token = tokens.operator): Promise<T> => {
    const res = await api(path, { method: 'POST', token, body: JSON.stringify(body), headers: { 'content-type': 'application/json' } });
    const text = await res.text();
    if (!res.ok) throw new Error(`${path}: ${res.status} ${text}`);
    return JSON.parse(text) as T;
  };
  return { ...server, clock, tokens, api, postJson, settled, upload };
}

/** A build's jobs as a stuck build's error names them: state, lease, attempts, error, and the runner's own view. */
async function describeJobs({ ctx, runner }: RunningServer, buildId: string): Promise<string> {
  const jobs = await jobsOf(ctx.db, buildId);
  const now = ctx.clock.now();
  const each = jobs.map((j) => {
    const lease = j.leaseUntil === null ? '' : ` lease ${j.leaseOwner} ${j.leaseUntil >= now ? `for ${j.leaseUntil - now} ms more` : `lapsed ${now - j.leaseUntil} ms ago`}`;
    return `${j.id} (${j.sourceBuildId ? `delta from ${j.sourceBuildId}` : 'full'}) ${j.state}, attempt ${j.attempts}${lease}${j.lastError ? `, last error: ${j.lastError}` : ''}`;
  });
  return `jobs: ${each.join('; ') || 'none'}; this server's runner works on ${runner.running}; delta pool ${JSON.stringify(ctx.pool.stats())}`;
}

/**
 * What a server started again on another's data must also be given to find its database:
 * on PostgreSQL (the `postgres` project) the database lives outside the data directory,
 * and its master key with it. Nothing on SQLite.
 */
export function sameDatabaseAs(server: { ctx: { config: Config } }): Partial<Config> {
  const { databaseUrl, masterKey } = server.ctx.config;
  return databaseUrl === undefined ? {} : { databaseUrl, ...(masterKey ? { masterKey } : {}) };
}
