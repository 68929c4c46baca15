// A server that starts on data with orphaned artifacts removes the old ones in the
// background and says so in its log; referenced artifacts and young orphans stay. Both
// artifact stores: the local directory and S3 (s3rver).
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { describe, expect, it, onTestFinished, vi } from 'vitest';
import type { Config } from '../../src/config.ts';
import { backdate, HOUR, type StoreOnDisk } from '../support/artifacts.ts';
import { pseudoRandom, sha256, tempDir } from '../support/harness.ts';
import { LEVEL, parseLog } from '../support/log.ts';
import { S3_KEYS, useS3rver } from '../support/s3rver.ts';
import { capturedLog, sameDatabaseAs, startTestServer, type TestServer } from '../support/server.ts';

const s3 = useS3rver();

const backends: Array<{ kind: 'local' | 's3'; setup(dir: string): { overrides: Partial<Config>; onDisk: StoreOnDisk } }> = [
  {
    kind: 'local',
    setup: (dir) => ({ overrides: { artifactsDir: join(dir, 'artifacts') }, onDisk: { kind: 'local', root: join(dir, 'artifacts') } }),
  },
  {
    kind: 's3',
    setup: () => ({
      overrides: { s3: { endpoint: `http://127.0.0.1:${s3.port()}`, bucket: 'fota-sweep', ...S3_KEYS } },
      onDisk: { kind: 's3', directory: s3.directory(), bucket: 'fota-sweep' },
    }),
  },
];

async function stored(server: TestServer): Promise<string[]> {
  const names: string[] = [];
  for await (const object of server.ctx.artifacts.list()) names.push(object.sha256);
  return names.sort();
}

describe.each(backends)('the sweep at start, $kind store', (backend) => {
  it('removes an orphan older than the grace period, logs it, and keeps referenced artifacts and a young orphan', async () => {
    const dir = tempDir();
    const { overrides, onDisk } = backend.setup(dir);
    const config = { ...overrides, dataDir: join(dir, 'data') };
    const first = await startTestServer(config);
    await first.upload('router-start', '1.0', pseudoRandom(30_000, `start-${backend.kind}`));
    const referenced = await stored(first);
    // Orphans as a crash or an older version could leave: one from hours ago, one fresh.
    const old = pseudoRandom(7000, `start-old-${backend.kind}`);
    const young = pseudoRandom(3000, `start-young-${backend.kind}`);
    await first.ctx.artifacts.put(Readable.from([old]));
    await first.ctx.artifacts.put(Readable.from([young]));
    for (const hash of [sha256(old), ...referenced]) await backdate(onDisk, hash, new Date(Date.now() - 2 * HOUR));
    await first.close();

    const logged = capturedLog();
    const second = await startTestServer({ ...config, ...sameDatabaseAs(first) }, { log: logged.log });
    // Closed with this test, before its folder goes: left to the end of the file, it would
    // go on committing (job polls) in a removed folder while the next test runs.
    onTestFinished(() => second.close());
    // The sweep runs in the background; on a loaded machine it can take seconds.
    await vi.waitFor(() => expect(parseLog(logged.lines()).some((l) => l.msg === 'artifact sweep done')).toBe(true), { timeout: 60_000, interval: 50 });
    const lines = parseLog(logged.lines());
    expect(lines.filter((l) => l.level >= LEVEL.warn)).toEqual([]);
    expect(lines.filter((l) => l.msg === 'removed an artifact no row references')).toEqual([
      expect.objectContaining({ level: LEVEL.info, sha256: sha256(old), size: old.length }),
    ]);
    expect(lines.find((l) => l.msg === 'artifact sweep done')).toMatchObject({ removed: 1, bytes: old.length, referenced: referenced.length, young: 1 });
    expect(await stored(second)).toEqual([...referenced, sha256(young)].sort());
  });
});
