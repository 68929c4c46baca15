// Kill the server (SIGKILL) while package jobs run, start it again on the same data, and
// every job finishes exactly once: one package per job, nothing half-written listed. The
// bsdiff processes of the killed server stop too instead of finishing their diffs.
import { createHash } from 'node:crypto';
import { open, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { LocalArtifactStore } from '../../src/store/artifacts/local-store.ts';
import { DELTA_CACHE, fixture, tempDir } from '../support/harness.ts';
import { spawnServe } from '../support/serve-process.ts';

const ADMIN = 'crash-test-admin-token-0123456789';

/**
 * The first server diffs for real, so its jobs run for seconds and are caught mid-way. The
 * one started after the kill may take the deltas from the fixtures' delta cache
 * (`cached`): what is checked then is that every job runs again and records its package
 * once, not the diff.
 */
const startServe = (dataDir: string, artifactsDir: string, options: { cached?: boolean } = {}) =>
  spawnServe({ dataDir, artifactsDir, env: { FOTA_ADMIN_TOKEN: ADMIN, FOTA_JOB_LEASE_MS: '1500', ...(options.cached ? { FOTA_DELTA_CACHE: DELTA_CACHE } : {}) } });

async function call(url: string, path: string, init: RequestInit & { token: string }) {
  const res = await fetch(`${url}${path}`, { ...init, headers: { authorization: `Bearer ${init.token}`, 'content-type': 'application/json' } });
  return (await res.json()) as Record<string, unknown>;
}

describe('a server killed mid-job', () => {
  it('finishes every job exactly once after a restart', async () => {
    const dir = tempDir();
    const dataDir = join(dir, 'data');
    const artifactsDir = join(dir, 'artifacts');
    let server = await startServe(dataDir, artifactsDir);
    try {
      const { token } = (await call(server.url, '/api/v1/tokens', { method: 'POST', token: ADMIN, body: JSON.stringify({ role: 'manufacturer', name: 'ci', manufacturer: 'esb' }) })) as { token: string };
      const ids: string[] = [];
      for (const version of ['0.24.0', '0.24.1', '0.25.0'] as const) {
        const res = await fetch(`${server.url}/api/v1/builds?model=esb&version=${version}`, { method: 'POST', headers: { authorization: `Bearer ${token}` }, body: await readFile(fixture(version)) });
        ids.push(((await res.json()) as { id: string }).id);
      }
      // Wait until a delta job is under way, then pull the plug.
      for (;;) {
        const build = (await call(server.url, `/api/v1/builds/${ids[2]}`, { token: ADMIN })) as { jobs: { running: number } };
        if (build.jobs.running > 0) break;
        await new Promise((r) => setTimeout(r, 50));
      }
      server.child.kill('SIGKILL');
      await new Promise((r) => server.child.once('exit', r));

      const before = new Database(join(dataDir, 'fota.db'), { readonly: true });
      const interrupted = before.prepare("select count(*) as n from jobs where state = 'running'").get() as { n: number };
      before.close();
      expect(interrupted.n).toBeGreaterThan(0);

      server = await startServe(dataDir, artifactsDir, { cached: true });
      for (const id of ids) {
        for (;;) {
          const build = (await call(server.url, `/api/v1/builds/${id}`, { token: ADMIN })) as { status: string; packages: unknown[] };
          if (build.status !== 'processing') {
            expect(build.status).toBe('ready');
            break;
          }
          await new Promise((r) => setTimeout(r, 200));
        }
      }
    } finally {
      server.child.kill('SIGTERM');
      await new Promise((r) => server.child.once('exit', r));
    }

    const db = new Database(join(dataDir, 'fota.db'), { readonly: true });
    const jobs = db.prepare('select id, state, package_id, attempts from jobs').all() as Array<{ id: string; state: string; package_id: string | null; attempts: number }>;
    const packages = db.prepare('select id, build_id, source_build_id, file_sha256 from packages').all() as Array<{ id: string; build_id: string; source_build_id: string | null; file_sha256: string }>;
    const created = db.prepare("select subject from audit_events where action = 'package.create'").all() as Array<{ subject: string }>;
    db.close();
    expect(jobs).toHaveLength(6); // full x3, deltas 0.24.0->0.24.1, 0.24.0->0.25.0, 0.24.1->0.25.0
    expect(jobs.every((j) => j.state === 'done' && j.package_id)).toBe(true);
    expect(jobs.some((j) => j.attempts > 1)).toBe(true); // the interrupted one ran again
    expect(packages).toHaveLength(6);
    expect(new Set(packages.map((p) => `${p.build_id}:${p.source_build_id}`)).size).toBe(6);
    expect(created.map((c) => c.subject).sort()).toEqual(packages.map((p) => p.id).sort());

    // Every listed object is whole (its bytes hash to its name); nothing is left staged.
    const store = new LocalArtifactStore(artifactsDir);
    const listed: string[] = [];
    for await (const object of store.list()) {
      listed.push(object.sha256);
      const hash = createHash('sha256');
      for await (const piece of await store.get(object.sha256)) hash.update(piece as Buffer);
      expect(hash.digest('hex')).toBe(object.sha256);
    }
    expect(listed).toEqual(expect.arrayContaining(packages.map((p) => p.file_sha256)));
    expect(await readdir(join(artifactsDir, '.staging')).catch(() => [])).toEqual([]);
  });
});

/** Pids of the running bsdiff processes whose parent is `parentPid`, read from /proc. */
async function bsdiffChildrenOf(parentPid: number): Promise<number[]> {
  const found: number[] = [];
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const stat = await readFile(`/proc/${name}/stat`, 'utf8').catch(() => '');
    // "pid (comm) state ppid ...": comm may hold spaces, so read after its closing paren.
    const [state, ppid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (state === 'Z' || Number(ppid) !== parentPid) continue;
    if ((await readFile(`/proc/${name}/cmdline`, 'utf8').catch(() => '')).includes('bsdiff-process.cjs')) found.push(Number(name));
  }
  return found;
}

/** Whether `pid` still runs a bsdiff process: a zombie (dead, not yet reaped) or a reused pid does not. */
async function stillRunsBsdiff(pid: number): Promise<boolean> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
  if (stat === '' || stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z')) return false;
  return (await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')).includes('bsdiff-process.cjs');
}

/** Resident memory of a process in bytes (0 once it is gone). */
async function residentBytes(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
  return Number(/^VmRSS:\s+(\d+) kB$/m.exec(status)?.[1] ?? 0) * 1024;
}

/**
 * When to pull the plug on a bsdiff process: as soon as it exists (its parent then dies
 * while it is still starting, with the job already sent), or once it is inside the
 * native diff. bsdiff's suffix arrays take 16 bytes per byte of the 10 MB old image,
 * far more than a bare Node process holds, so that much resident memory says the diff
 * (which blocks the process's JavaScript) is under way.
 */
const KILL_WHEN: Array<[string, (pid: number) => Promise<boolean>]> = [
  ['while it starts', async () => true],
  ['inside the native diff', async (pid) => (await residentBytes(pid)) > 120 * 1024 * 1024],
];

/** Files under `dir` holding a finished BSDIFF40 patch: bsdiff writes the block lengths into the header last. */
async function finishedPatches(dir: string): Promise<string[]> {
  const finished: string[] = [];
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    const file = await open(path, 'r');
    const header = Buffer.alloc(32);
    const { bytesRead } = await file.read(header, 0, 32, 0).finally(() => file.close());
    if (bytesRead === 32 && header.subarray(0, 8).toString('latin1') === 'BSDIFF40' && header.readBigInt64LE(8) > 0n) finished.push(path);
  }
  return finished;
}

describe('a server killed mid-diff', () => {
  it.each(KILL_WHEN)('takes its bsdiff process with it %s: it stops without finishing the diff', async (_when, ready) => {
    const dir = tempDir();
    const dataDir = join(dir, 'data');
    const server = await startServe(dataDir, join(dir, 'artifacts'));
    const serverPid = server.child.pid ?? 0;
    let bsdiffPids: number[] = [];
    try {
      const { token } = (await call(server.url, '/api/v1/tokens', { method: 'POST', token: ADMIN, body: JSON.stringify({ role: 'manufacturer', name: 'ci', manufacturer: 'esb' }) })) as { token: string };
      // Two builds: one delta (0.24.0 -> 0.24.1), a diff of 10 MB images that runs for seconds.
      for (const version of ['0.24.0', '0.24.1'] as const) {
        const res = await fetch(`${server.url}/api/v1/builds?model=esb&version=${version}`, { method: 'POST', headers: { authorization: `Bearer ${token}` }, body: await readFile(fixture(version)) });
        expect(res.status).toBe(202);
      }
      // A forked child is a bsdiff process from its first instruction; full packages
      // fork none, so the first one seen runs the delta.
      for (;;) {
        if (server.child.exitCode !== null) throw new Error('fota serve exited before a diff started');
        bsdiffPids = await bsdiffChildrenOf(serverPid);
        const [first] = bsdiffPids;
        if (first !== undefined && (await ready(first))) break;
        await new Promise((r) => setTimeout(r, 20));
      }
    } finally {
      server.child.kill('SIGKILL');
      await new Promise((r) => (server.child.exitCode === null && server.child.signalCode === null ? server.child.once('exit', r) : r(undefined)));
    }

    // Generous: this waits for the processes to go, it does not time them.
    const deadline = Date.now() + 60_000;
    for (;;) {
      const left = (await Promise.all(bsdiffPids.map(async (pid) => ((await stillRunsBsdiff(pid)) ? pid : undefined)))).filter((pid) => pid !== undefined);
      if (left.length === 0) break;
      if (Date.now() > deadline) throw new Error(`bsdiff process(es) ${left.join(', ')} of the killed server still run`);
      await new Promise((r) => setTimeout(r, 100));
    }
    // An orphan would also go in the end, once its diff is done: a finished patch in the
    // dead server's work dir would say that is what happened.
    expect(await finishedPatches(join(dataDir, 'work'))).toEqual([]);
  });
});
