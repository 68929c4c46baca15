import { describe, expect, it } from 'vitest';
import { runPackageJob } from '../../../src/packages/pipeline/package-job.ts';
import { JobRunner, type RunnerOptions } from '../../../src/packages/pipeline/runner.ts';
import { jobsOf } from '../../../src/store/queries/builds.ts';
import { insertDevice } from '../../../src/store/queries/devices.ts';
import { nextBuild, pseudoRandom } from '../../support/harness.ts';
import { startTestServer, type TestServer } from '../../support/server.ts';
import { selectRow, selectRows } from '../../support/sql.ts';
import { until } from '../../support/until.ts';

/** Uploads without waiting: the runner that would settle the build is stopped here. */
async function queue(server: TestServer, model: string, version: string, image: Uint8Array): Promise<string> {
  const res = await server.api(`/api/v1/builds?model=${model}&version=${version}`, { method: 'POST', token: server.tokens.acme, body: image });
  expect(res.status).toBe(202);
  return ((await res.json()) as { id: string }).id;
}

describe('package job queue', () => {
  it('retries a failing job a bounded number of times, then fails the build with the reason', async () => {
    const server = await startTestServer({ jobAttempts: 2 });
    const v1 = pseudoRandom(50_000, 'fail-v1');
    await server.upload('failing', '1.0', v1);
    // The earlier image vanishes from the store, so the delta job cannot run.
    const [object] = await (async () => { const all = []; for await (const o of server.ctx.artifacts.list()) if (o.size === v1.length) all.push(o); return all; })();
    await server.ctx.artifacts.delete(object?.sha256 ?? '');
    const build = await server.upload('failing', '1.1', nextBuild(v1));
    expect(build.status).toBe('failed');
    expect(build.failureReason).toMatch(/^the delta from 1.0 failed \(job job_\w+\): no artifact with SHA-256 [0-9a-f]{64}/);
    const job = await selectRow(server.ctx.db, "select attempts, state from jobs where build_id = ? and source_build_id is not null", build.id);
    expect(job).toEqual({ attempts: 2, state: 'failed' });
  });

  it('adds a delta from every version the fleet runs, beyond the most recent builds', async () => {
    const server = await startTestServer({ deltaSources: 1 });
    const v1 = pseudoRandom(50_000, 'census-v1');
    const v2 = nextBuild(v1, 'census-2');
    const v3 = nextBuild(v2, 'census-3');
    await server.upload('census', '1.0', v1);
    await server.upload('census', '2.0', v2);
    await server.ctx.db.transaction((tx) => insertDevice(tx, { id: 'dev-old', model: 'census', firmwareVersion: '1.0', createdAt: Date.now() }));
    const build = await server.upload('census', '3.0', v3);
    expect(build.packages.map((p) => `${p.kind}:${p.fromVersion ?? '-'}`).sort()).toEqual(['bsdiff40:1.0', 'bsdiff40:2.0', 'full:-']);
  });

  it('records a job once even when a second runner takes it over after a lapsed lease', async () => {
    const server = await startTestServer();
    await server.runner.stop();
    const v1 = pseudoRandom(3_000_000, 'lease-v1');
    const ids = [await queue(server, 'leased', '1.0', v1), await queue(server, 'leased', '1.1', nextBuild(v1))];
    // A runner whose lease lapses almost at once, and a second one that takes its jobs over
    // while the first is still working on them. The hasty one's clock is a minute behind, so
    // even its renewals leave a lease that has lapsed for everyone else (on a busy machine,
    // renewals every millisecond could otherwise keep a 1 ms lease alive). It holds each job
    // it claims until the other has taken it over, and the other starts only once it has
    // claimed one: racing on timers, a loaded machine (CI) once let it finish every job
    // before the other's first claim.
    let firstClaim: () => void = () => undefined;
    const claimed = new Promise<void>((resolve) => {
      firstClaim = resolve;
    });
    const hasty: JobRunner = new JobRunner(
      { ...server.ctx, clock: { now: () => server.ctx.clock.now() - 60_000 } },
      {
        leaseMs: 1,
        pollMs: 10,
        run: async (ctx, job, signal) => {
          firstClaim();
          await until(`job ${job.id} taken over`, () => selectRow<{ owner: string }>(server.ctx.db, 'select lease_owner as owner from jobs where id = ?', job.id), (row) => row?.owner !== hasty.owner);
          return runPackageJob(ctx, job, signal);
        },
      },
    );
    const steady = new JobRunner(server.ctx, { leaseMs: 60_000, pollMs: 10 });
    hasty.start();
    await claimed;
    steady.start();
    const builds = await Promise.all(ids.map((id) => server.settled(id)));
    await Promise.all([hasty.stop(), steady.stop()]);
    expect(builds.map((b) => b.status)).toEqual(['ready', 'ready']);
    const jobs = await selectRows(server.ctx.db, 'select attempts from jobs') as Array<{ attempts: number }>;
    expect(Math.max(...jobs.map((j) => j.attempts))).toBeGreaterThan(1); // a takeover happened
    const packages = await selectRows(server.ctx.db, 'select build_id, source_build_id from packages');
    expect(packages).toHaveLength(3);
    expect(new Set(packages.map((p) => JSON.stringify(p))).size).toBe(3);
  });

  it('makes a build ready when its jobs finish at the same moment', async () => {
    // Every job of a build is held back once made, until all of them are: their results
    // are then recorded by concurrent transactions, each of which sees the others' jobs
    // still running unless they take turns.
    const waiting = new Map<string, Array<() => void>>();
    const run: RunnerOptions['run'] = async (ctx, job, signal) => {
      const outcome = await runPackageJob(ctx, job, signal);
      const total = (await jobsOf(ctx.db, job.buildId)).length;
      await new Promise<void>((resolve) => {
        const held = [...(waiting.get(job.buildId) ?? []), resolve];
        waiting.set(job.buildId, held);
        if (held.length === total) for (const release of held) release();
      });
      return outcome;
    };
    const server = await startTestServer({ deltaConcurrency: 4, deltaSources: 3 }, { runner: { leaseMs: 60_000, pollMs: 100, run } });
    let image = pseudoRandom(20_000, 'together-v1');
    expect((await server.upload('together', '1', image)).status).toBe('ready');
    for (const version of ['2', '3', '4']) {
      image = nextBuild(image, `together-${version}`);
      // A build stuck in processing fails here, with its jobs' states, instead of hanging.
      const build = await server.upload('together', version, image);
      expect(build.status).toBe('ready');
    }
  });
});

