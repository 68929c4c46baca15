// The scale-out setup: the same server with its artifacts in S3 (a real s3rver on
// loopback) turns uploads into packages, and nothing lands in the local artifacts dir.
import { readdir } from 'node:fs/promises';
import { beforeAll, describe, expect, it } from 'vitest';
import { nextBuild, pseudoRandom, sha256 } from '../support/harness.ts';
import { S3_KEYS, useS3rver } from '../support/s3rver.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

const s3 = useS3rver();
let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({ s3: { endpoint: `http://127.0.0.1:${s3.port()}`, bucket: 'fota-artifacts', ...S3_KEYS } });
});

describe('a server with artifacts in S3', () => {
  it('stores builds and packages in the bucket and serves the .fota files from it', async () => {
    const v1 = pseudoRandom(300_000, 's3-v1');
    const ids: string[] = [];
    for (const [version, image] of [['1.0', v1], ['1.1', nextBuild(v1)]] as const) {
      const res = await server.api(`/api/v1/builds?model=cloudy&version=${version}`, { method: 'POST', token: server.tokens.acme, body: image });
      ids.push(((await res.json()) as { id: string }).id);
    }
    const build = await server.settled(ids[1] ?? '');
    expect(build.packages.map((p) => p.kind).sort()).toEqual(['bsdiff40', 'full']);
    for (const pkg of build.packages) {
      const file = Buffer.from(await (await server.api(`/api/v1/packages/${pkg.id}/file`, { token: server.tokens.operator })).arrayBuffer());
      expect(sha256(file)).toBe(pkg.sha256);
    }
    expect(server.ctx.artifacts.kind).toBe('s3');
    expect(await readdir(server.ctx.config.artifactsDir).catch(() => [])).toEqual([]);
  });
});
