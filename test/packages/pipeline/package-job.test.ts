// What a package job reads, and what it leaves. Images can be gigabytes: a job must not
// read one again to learn what its build row already says, and must not make a package
// only to throw it away.
import { chmod, writeFile } from 'node:fs/promises';
import { describe, expect, it, vi } from 'vitest';
import { nextBuild, pseudoRandom, sha256, tempDir } from '../../support/harness.ts';
import { startTestServer, type TestServer } from '../../support/server.ts';
import { passesOver, resetPasses } from '../../support/streamed-files.ts';
import { selectRow } from '../../support/sql.ts';

vi.mock('node:fs', async (original) => (await import('../../support/streamed-files.ts')).countingFs(await original()));

async function upload(server: TestServer, model: string, version: string, image: Uint8Array): Promise<string> {
  const res = await server.api(`/api/v1/builds?model=${model}&version=${version}`, { method: 'POST', token: server.tokens.acme, body: image });
  expect(res.status).toBe(202);
  return ((await res.json()) as { id: string }).id;
}

/** Where the local store keeps an image (its localCopy is the object itself). */
async function storedPath(server: TestServer, image: Uint8Array): Promise<string> {
  return (await server.ctx.artifacts.localCopy(sha256(image), tempDir())).path;
}

async function storedObjects(server: TestServer): Promise<string[]> {
  const all: string[] = [];
  for await (const object of server.ctx.artifacts.list()) all.push(object.sha256);
  return all.sort();
}

const kinds = (build: { packages: Array<{ kind: string; fromVersion: string | null }> }) => build.packages.map((p) => `${p.kind}:${p.fromVersion ?? '-'}`).sort();

describe('package jobs', () => {
  it('read an image only for bytes they need: the full package streams its target twice (slices, then the file), a delta job neither image', async () => {
    const server = await startTestServer();
    const v1 = pseudoRandom(300_000, 'thrift-v1');
    const v2 = nextBuild(v1);
    await server.settled(await upload(server, 'thrift', '1.0', v1));
    resetPasses();
    const build = await server.settled(await upload(server, 'thrift', '2.0', v2));
    expect(kinds(build)).toEqual(['bsdiff40:1.0', 'full:-']);
    // bsdiff reads both images once each, in its own process, which this count does not see.
    expect({ target: passesOver(await storedPath(server, v2)), source: passesOver(await storedPath(server, v1)) }).toEqual({ target: 2, source: 0 });
  });

  it('end a delta not worth offering with a note: no second full package made, none stored', async () => {
    const server = await startTestServer();
    const v1 = pseudoRandom(200_000, 'reject-v1');
    const v2 = pseudoRandom(200_000, 'reject-v2');
    await server.settled(await upload(server, 'unrelated', '1.0', v1));
    const before = await storedObjects(server);
    resetPasses();
    const id = await upload(server, 'unrelated', '2.0', v2);
    const build = await server.settled(id);
    expect(build.status).toBe('ready');
    expect(kinds(build)).toEqual(['full:-']);
    const job = await selectRow(server.ctx.db, 'select note, package_id as packageId from jobs where build_id = ? and source_build_id is not null', id);
    expect(job).toEqual({ note: expect.stringMatching(/^delta from 1.0 \(\d+ bytes\) exceeds 0.6 of the image; the full package serves that version$/), packageId: null });
    // Only the full package's job read the image, and the store gained the image and that package.
    expect(passesOver(await storedPath(server, v2))).toBe(2);
    const [full] = build.packages;
    expect(await storedObjects(server)).toEqual([...before, sha256(v2), full?.sha256].sort());
  });

  it('trust the build row: a source whose stored bytes are damaged is not hashed again, the delta names the recorded image', async () => {
    const server = await startTestServer();
    const v1 = pseudoRandom(200_000, 'damaged-v1');
    await server.settled(await upload(server, 'damaged', '1.0', v1));
    const path = await storedPath(server, v1);
    const damaged = Buffer.from(v1);
    damaged[100] = (damaged[100] ?? 0) ^ 0xff;
    await chmod(path, 0o644);
    await writeFile(path, damaged);
    resetPasses();
    const build = await server.settled(await upload(server, 'damaged', '2.0', nextBuild(v1)));
    const delta = build.packages.find((p) => p.kind === 'bsdiff40');
    const envelope = (await (await server.api(`/api/v1/packages/${delta?.id ?? ''}`, { token: server.tokens.operator })).json()) as { signed: { source: unknown } };
    // A device on 1.0 runs the recorded bytes; the damaged copy would patch to a wrong image,
    // which the device refuses (FUMO 410) by the target hash.
    expect(envelope.signed.source).toEqual({ version: '1.0', sha256: sha256(v1), size: v1.length });
    expect(passesOver(path)).toBe(0);
  });

  it('refuse to sign a full package of a stored image that is not the build any more', async () => {
    const server = await startTestServer({ jobAttempts: 1 });
    await server.runner.stop();
    const v1 = pseudoRandom(100_000, 'damaged-target');
    const id = await upload(server, 'damaged-target', '1.0', v1);
    const path = await storedPath(server, v1);
    await chmod(path, 0o644);
    await writeFile(path, Buffer.concat([v1.subarray(1), Buffer.from([0])]));
    server.runner.start();
    const build = await server.settled(id);
    expect(build.status).toBe('failed');
    expect(build.failureReason).toMatch(/^the full package failed \(job job_\w+\): image .* \(1.0\) has SHA-256 [0-9a-f]{64} and 100000 bytes, not the recorded [0-9a-f]{64} and 100000; it is damaged$/);
  });
});
