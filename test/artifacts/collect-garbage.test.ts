// Garbage collection against a real server's database and store, with the moments that
// matter forced: a row written, or the same bytes stored again, between the listing and
// the removal. The store is real; it only lets the test act once the listing is done.
import { Readable } from 'node:stream';
import { beforeAll, describe, expect, it } from 'vitest';
import { collectGarbage, type GarbageDeps } from '../../src/artifacts/collect-garbage.ts';
import type { ArtifactStore } from '../../src/store/artifacts/artifact-store.ts';
import { backdate, HOUR } from '../support/artifacts.ts';
import { pseudoRandom, sha256 } from '../support/harness.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { runSql } from '../support/sql.ts';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
  await server.upload('router-sweep', '1.0', pseudoRandom(50_000, 'sweep-1.0'));
});

/** The server's store, running `between` after its last listed object and before gc goes on. */
function pausingAfterList(between: () => Promise<void>): GarbageDeps {
  const store = server.ctx.artifacts;
  const artifacts: ArtifactStore = Object.create(store, {
    list: {
      value: async function* () {
        yield* store.list();
        await between();
      },
    },
  });
  return { db: server.ctx.db, artifacts, clock: server.ctx.clock };
}

async function oldOrphan(seed: string): Promise<Buffer> {
  const bytes = pseudoRandom(20_000, seed);
  await server.ctx.artifacts.put(Readable.from([bytes]));
  await backdate({ kind: 'local', root: server.ctx.config.artifactsDir }, sha256(bytes), new Date(Date.now() - 2 * HOUR));
  return bytes;
}

describe('collectGarbage', () => {
  it('keeps an old orphan that a new build comes to reference while it runs', async () => {
    const bytes = await oldOrphan('adopted');
    let buildId = '';
    const deps = pausingAfterList(async () => {
      const res = await server.api('/api/v1/builds?model=router-sweep&version=2.0', { method: 'POST', token: server.tokens.acme, body: bytes });
      expect(res.status).toBe(202);
      buildId = ((await res.json()) as { id: string }).id;
    });
    const report = await collectGarbage(deps, { graceMs: HOUR });
    expect(report.removed).toEqual([]);
    expect(await server.ctx.artifacts.stat(sha256(bytes))).not.toBeNull();
    expect((await server.settled(buildId)).status).toBe('ready');
  });

  it('keeps an old orphan that a row comes to name while it runs, even without a new put', async () => {
    const bytes = await oldOrphan('named');
    const deps = pausingAfterList(async () => {
      // As a process that stored the bytes long ago might record them now.
      await runSql(
        server.ctx.db,
        "insert into builds (id, model_id, version, sha256, size, status, created_at) select 'bld_named', model_id, '3.0', ?, ?, 'ready', created_at from builds where version = '1.0'",
        sha256(bytes),
        bytes.length,
      );
    });
    expect(await collectGarbage(deps, { graceMs: HOUR })).toMatchObject({ removed: [], referenced: expect.any(Number) });
    expect(await server.ctx.artifacts.stat(sha256(bytes))).not.toBeNull();
  });

  it('keeps an old orphan whose bytes are stored again while it runs, and takes it on the next run', async () => {
    const bytes = await oldOrphan('stored-again');
    const deps = pausingAfterList(async () => {
      await server.ctx.artifacts.put(Readable.from([bytes]));
    });
    expect(await collectGarbage(deps, { graceMs: HOUR })).toMatchObject({ removed: [], young: 1 });
    expect(await server.ctx.artifacts.stat(sha256(bytes))).not.toBeNull();
    // No build came for them: once old again, they go.
    server.clock.advance(2 * HOUR);
    const later = await collectGarbage(server.ctx, { graceMs: HOUR });
    expect(later.removed.map((o) => o.sha256)).toEqual([sha256(bytes)]);
    expect(later.removedBytes).toBe(bytes.length);
    expect(await server.ctx.artifacts.stat(sha256(bytes))).toBeNull();
  });

  it('refuses a negative grace period', async () => {
    await expect(collectGarbage(server.ctx, { graceMs: -1 })).rejects.toMatchObject({ code: 'VALIDATION' });
  });
});
