// Kill the server (SIGKILL) while package jobs run, start it again on the same data, and
// every job finishes exactly once: one package per job, nothing half-written listed.
import { type ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { LocalArtifactStore } from '../../src/store/artifacts/local-store.ts';
import { fixture, tempDir } from '../support/harness.ts';

const ADMIN = 'crash-test-admin-token-0123456789';

function startServe(dataDir: string, artifactsDir: string): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, [resolve('bin/fota.js'), 'serve', '--port', '0', '--host', '127.0.0.1', '--data', dataDir, '--artifacts', artifactsDir], {
    env: { ...process.env, FOTA_ADMIN_TOKEN: ADMIN, FOTA_JOB_LEASE_MS: '1500', FOTA_LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((done, fail) => {
    let out = '';
    child.stdout?.on('data', (piece: Buffer) => {
      out += piece.toString();
      const url = /listening on (http:\/\/\S+)/.exec(out)?.[1];
      if (url) done({ child, url });
    });
    child.once('exit', (code) => fail(new Error(`fota serve exited early (${code}): ${out}`)));
  });
}

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

      server = await startServe(dataDir, artifactsDir);
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
