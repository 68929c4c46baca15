// `fota gc` run as a user runs it (a child process) against the data of a real server
// that keeps running, with the local artifact directory and with S3 (s3rver): orphans
// older than the grace period go, referenced artifacts and young orphans stay, and
// --dry-run removes nothing. Help and option checks, which need no server, run `main`
// in this process.
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { beforeAll, describe, expect, it } from 'vitest';
import type { ObjectInfo } from '../../src/store/artifacts/artifact-store.ts';
import { backdate, HOUR, type StoreOnDisk } from '../support/artifacts.ts';
import { fota, fotaInProcess } from '../support/cli.ts';
import { pseudoRandom, sha256, tempDir } from '../support/harness.ts';
import { S3_KEYS, useS3rver } from '../support/s3rver.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { selectRow } from '../support/sql.ts';

const s3 = useS3rver();

interface Backend {
  kind: 'local' | 's3';
  start(): Promise<{ server: TestServer; onDisk: StoreOnDisk; env: Record<string, string | undefined> }>;
}

/** The child must not pick up a developer's own S3 settings for the local case. */
const NO_S3 = { FOTA_S3_ENDPOINT: undefined, FOTA_S3_BUCKET: undefined, FOTA_S3_ACCESS_KEY: undefined, FOTA_S3_SECRET_KEY: undefined, FOTA_GC_GRACE_MINUTES: undefined };

const backends: Backend[] = [
  {
    kind: 'local',
    async start() {
      const server = await startTestServer();
      return { server, onDisk: { kind: 'local', root: server.ctx.config.artifactsDir }, env: NO_S3 };
    },
  },
  {
    kind: 's3',
    async start() {
      const endpoint = `http://127.0.0.1:${s3.port()}`;
      const bucket = 'fota-gc';
      const server = await startTestServer({ s3: { endpoint, bucket, ...S3_KEYS } });
      const env = { ...NO_S3, FOTA_S3_ENDPOINT: endpoint, FOTA_S3_BUCKET: bucket, FOTA_S3_ACCESS_KEY: S3_KEYS.accessKey, FOTA_S3_SECRET_KEY: S3_KEYS.secretKey };
      return { server, onDisk: { kind: 's3', directory: s3.directory(), bucket }, env };
    },
  },
];

describe.each(backends)('fota gc, $kind store', (backend) => {
  let server: TestServer;
  let onDisk: StoreOnDisk;
  let env: Record<string, string | undefined>;
  let image: Buffer;
  beforeAll(async () => {
    ({ server, onDisk, env } = await backend.start());
    image = pseudoRandom(100_000, `gc-${backend.kind}`);
    expect((await server.upload('router-gc', '1.0', image)).status).toBe('ready');
  });

  const database = () => (server.ctx.config.databaseUrl === undefined ? [] : ['--database', server.ctx.config.databaseUrl]);
  const gc = (...args: string[]) => fota(['gc', '--data', server.ctx.config.dataDir, ...database(), '--artifacts', server.ctx.config.artifactsDir, ...args], { env });
  const put = async (seed: string) => (await server.ctx.artifacts.put(Readable.from([pseudoRandom(5000, seed)]))).sha256;
  const stored = async () => (await listed(server)).map((o) => o.sha256).sort();

  it('removes an orphan older than the grace period and keeps referenced artifacts and a young orphan; --dry-run removes nothing', async () => {
    const referenced = await stored();
    expect(referenced).toContain(sha256(image));
    const twoHoursAgo = new Date(Date.now() - 2 * HOUR);
    // Age is no reason to go: the build's image is as old as the orphan.
    await backdate(onDisk, sha256(image), twoHoursAgo);
    const old = await put(`old-orphan-${backend.kind}`);
    await backdate(onDisk, old, twoHoursAgo);
    const young = await put(`young-orphan-${backend.kind}`);
    const everything = [...referenced, old, young].sort();
    expect(await stored()).toEqual(everything);

    const dry = await gc('--dry-run');
    expect(dry.stderr).toBe('');
    expect(dry).toMatchObject({ code: 0, stdout: `would remove ${old}  5,000 bytes\nwould remove 1 artifact, 5,000 bytes; kept ${referenced.length} referenced, 1 stored less than 60 minutes ago\n` });
    expect(await stored()).toEqual(everything);

    const run = await gc();
    expect(run.stderr).toBe('');
    expect(run).toMatchObject({ code: 0, stdout: `removed ${old}  5,000 bytes\nremoved 1 artifact, 5,000 bytes; kept ${referenced.length} referenced, 1 stored less than 60 minutes ago\n` });
    expect(await stored()).toEqual([...referenced, young].sort());

    // The server still serves the build's packages from the store.
    const build = await server.settled((await selectRow<{ id: string }>(server.ctx.db, "select id from builds where version = '1.0'"))?.id ?? '');
    for (const pkg of build.packages) expect((await server.api(`/api/v1/packages/${pkg.id}/file`, { token: server.tokens.acme })).status).toBe(200);
  });

  it('takes young orphans too with --grace-minutes 0, never a referenced artifact', async () => {
    const referenced: string[] = [];
    for (const hash of await stored()) if (await selectRow(server.ctx.db, 'select 1 from builds where sha256 = ? union select 1 from packages where file_sha256 = ?', hash, hash)) referenced.push(hash);
    const young = await put(`young-too-${backend.kind}`);
    const run = await gc('--grace-minutes', '0');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(`removed ${young}  5,000 bytes\n`);
    // With the young orphan the test before kept.
    expect(run.stdout).toMatch(new RegExp(`\\nremoved 2 artifacts, 10,000 bytes; kept ${referenced.length} referenced\\n$`));
    expect(await stored()).toEqual(referenced.sort());
  });

  it('removes nothing when the database is not the store\'s (exit 2)', async () => {
    const other = await startTestServer(backend.kind === 's3' ? { s3: { endpoint: `http://127.0.0.1:${s3.port()}`, bucket: 'fota-gc-other', ...S3_KEYS } } : {});
    const res = await other.api('/api/v1/builds?model=router-other&version=1.0', { method: 'POST', token: other.tokens.acme, body: pseudoRandom(1000, 'other') });
    expect(res.status).toBe(202);
    const before = await stored();
    const old = await put(`mismatch-${backend.kind}`);
    await backdate(onDisk, old, new Date(Date.now() - 2 * HOUR));
    // The other server's database with this server's store.
    const otherDatabase = other.ctx.config.databaseUrl === undefined ? [] : ['--database', other.ctx.config.databaseUrl];
    const run = await gc('--data', other.ctx.config.dataDir, ...otherDatabase, '--grace-minutes', '0');
    expect(run).toMatchObject({ code: 2, stdout: '' });
    expect(run.stderr).toMatch(/holds none of the \d+ artifacts the database references: the store and the database \(--data\/FOTA_DATA, or --database\/FOTA_DATABASE_URL\) do not look like one server's; nothing removed/);
    expect(await stored()).toEqual([...before, old].sort());
  });
});

describe('fota gc', () => {
  it('prints its help', async () => {
    const result = await fotaInProcess(['gc', '--help']);
    expect(result).toMatchObject({ code: 0, stdout: expect.stringMatching(/^Usage: fota gc .*--dry-run/s) });
  });

  it('refuses a data directory without a database, and creates none there (exit 2)', async () => {
    const dir = tempDir();
    const result = await fota(['gc', '--data', dir, '--artifacts', join(dir, 'artifacts')], { env: NO_S3 });
    expect(result).toMatchObject({ code: 2, stderr: expect.stringContaining(`no database at ${join(dir, 'fota.db')}`) });
    expect(await readdir(dir)).toEqual([]);
  });

  it('refuses a grace period that is not a whole number of minutes (exit 2)', async () => {
    const result = await fotaInProcess(['gc', '--grace-minutes', '1.5']);
    expect(result).toMatchObject({ code: 2, stderr: expect.stringContaining('--grace-minutes must be a whole number >= 0') });
  });
});

async function listed(server: TestServer): Promise<ObjectInfo[]> {
  const objects: ObjectInfo[] = [];
  for await (const object of server.ctx.artifacts.list()) objects.push(object);
  return objects;
}
