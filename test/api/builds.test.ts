import { readdir } from 'node:fs/promises';
import { request } from 'node:http';
import { join } from 'node:path';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { checkEnvelope } from '../../src/packages/verify.ts';
import type { Envelope } from '../../src/signing/envelope.ts';
import { auditOf } from '../../src/store/queries/audit.ts';
import { nextBuild, pseudoRandom, sha256 } from '../support/harness.ts';
import { LEVEL, parseLog } from '../support/log.ts';
import { capturedLog, startTestServer, type TestServer } from '../support/server.ts';
import { selectRow, selectRows } from '../support/sql.ts';

let server: TestServer;
const logged = capturedLog();
beforeAll(async () => {
  server = await startTestServer({ maxUploadBytes: 2_000_000 }, { log: logged.log });
});

const v1 = pseudoRandom(500_000, 'api-v1');
const v2 = nextBuild(v1);

function upload(model: string, version: string, body: Uint8Array | ReadableStream<Uint8Array>, token = server.tokens.acme) {
  return server.api(`/api/v1/builds?model=${encodeURIComponent(model)}&version=${version}`, { method: 'POST', token, body });
}

async function uploaded(model: string, version: string, body: Uint8Array): Promise<string> {
  const res = await upload(model, version, body);
  expect(res.status).toBe(202);
  return ((await res.json()) as { id: string }).id;
}

async function servedTrust(manufacturer: string) {
  const res = await server.api(`/api/v1/manufacturers/${manufacturer}/keys`, { token: server.tokens.operator });
  const keys = (await res.json()) as Array<{ keyid: string; publicKey: string; status: string }>;
  return { keys: keys.map((k) => ({ keyid: k.keyid, publicKey: new Uint8Array(Buffer.from(k.publicKey, 'base64')), revoked: k.status === 'revoked' })) };
}

describe('build upload -> signed packages', () => {
  it('makes a full package for a first build, and a full one plus a delta for the next', async () => {
    const first = await uploaded('router-a', '1.0', v1);
    const second = await uploaded('router-a', '1.1', v2);
    expect(await server.settled(first)).toMatchObject({ status: 'ready', packages: [{ kind: 'full', fromVersion: null, toVersion: '1.0' }] });
    const build = await server.settled(second);
    expect(build).toMatchObject({ status: 'ready', version: '1.1', failureReason: null });
    expect(build.packages.map((p) => `${p.kind}:${p.fromVersion}`).sort()).toEqual(['bsdiff40:1.0', 'full:null']);

    const trust = await servedTrust('acme');
    for (const pkg of build.packages) {
      const envelope = (await (await server.api(`/api/v1/packages/${pkg.id}`, { token: server.tokens.operator })).json()) as Envelope<Record<string, unknown>>;
      const verdict = checkEnvelope(envelope, trust);
      expect(verdict).toMatchObject({ ok: true, manifest: { model: 'router-a', manufacturer: 'acme', target: { version: '1.1', sha256: sha256(v2) } } });
      const file = Buffer.from(await (await server.api(`/api/v1/packages/${pkg.id}/file`, { token: server.tokens.acme })).arrayBuffer());
      expect(file.subarray(0, 6).toString()).toBe('FOTA1\n');
      expect({ size: file.length, sha256: sha256(file) }).toEqual({ size: pkg.size, sha256: pkg.sha256 });
    }
  });

  it('records who uploaded a build in the audit log', async () => {
    const id = await uploaded('router-audit', '1.0', pseudoRandom(1000, 'audit'));
    const [event] = await auditOf(server.ctx.db, id);
    const acme = await selectRow<{ id: string }>(server.ctx.db, "select person_id as id from tokens where name = 'acme ci'");
    expect(event).toMatchObject({ action: 'build.upload', actor: acme?.id });
    expect(event?.at).toBeGreaterThan(0);
  });

  it('refuses a version the model already has (409) and keeps the first', async () => {
    const id = await uploaded('router-b', '2.0', pseudoRandom(1000, 'b'));
    const again = await upload('router-b', '2.0', pseudoRandom(1000, 'other'));
    expect(again.status).toBe(409);
    expect(await again.json()).toMatchObject({ error: { code: 'CONFLICT', message: 'model router-b already has a build 2.0' } });
    expect((await server.settled(id)).status).toBe('ready');
  });

  it('refuses an empty body and a body over the limit (413), streamed or not', async () => {
    expect((await upload('router-c', '1.0', new Uint8Array(0))).status).toBe(413);
    const tooBig = await upload('router-c', '1.0', pseudoRandom(2_500_000, 'big'));
    expect(tooBig.status).toBe(413);
    expect(await tooBig.json()).toMatchObject({ error: { code: 'TOO_LARGE' } });
    // Without a Content-Length the limit is enforced while the bytes stream in.
    const chunks = [pseudoRandom(1_500_000, 'c1'), pseudoRandom(1_500_000, 'c2')];
    const stream = new ReadableStream<Uint8Array>({ pull(controller) { const next = chunks.shift(); if (next) controller.enqueue(next); else controller.close(); } });
    expect((await upload('router-c', '1.0', stream)).status).toBe(413);
    const listed = [];
    for await (const object of server.ctx.artifacts.list()) listed.push(object);
    expect(listed.every((o) => o.size <= 2_000_000)).toBe(true);
    const row = await selectRow(server.ctx.db, "select count(*) as n from models where name = 'router-c'") as { n: number };
    expect(row.n).toBe(0);
  });

  it.each([['../../etc/passwd'], ['a b'], [''], ['x'.repeat(200)]])('refuses the model name %j (400)', async (model) => {
    const res = await upload(model, '1.0', pseudoRandom(100));
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: { code: 'VALIDATION', message: expect.stringContaining('model') } });
  });

  it("keeps one manufacturer out of another's models and builds (403)", async () => {
    const id = await uploaded('router-d', '1.0', pseudoRandom(1000, 'd'));
    expect((await upload('router-d', '1.1', pseudoRandom(1000, 'd2'), server.tokens.globex)).status).toBe(403);
    expect((await server.api(`/api/v1/builds/${id}`, { token: server.tokens.globex })).status).toBe(403);
    expect((await server.api(`/api/v1/builds/${id}`, { token: server.tokens.operator })).status).toBe(200);
    const pkg = (await server.settled(id)).packages[0];
    expect((await server.api(`/api/v1/packages/${pkg?.id}/file`, { token: server.tokens.globex })).status).toBe(403);
  });

  it('answers 404 with a message for unknown builds and packages', async () => {
    const build = await server.api('/api/v1/builds/bld_nope', { token: server.tokens.operator });
    expect(build.status).toBe(404);
    expect(await build.json()).toEqual({ error: { code: 'NOT_FOUND', message: 'no build bld_nope' } });
    expect((await server.api('/api/v1/packages/pkg_nope', { token: server.tokens.operator })).status).toBe(404);
  });
});

describe('two uploads of one version at once', () => {
  /** An upload whose first bytes go at once and the rest only on `finish()`. */
  function heldUpload(model: string, version: string, bytes: Buffer) {
    let finish = () => {};
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(bytes.subarray(0, 1000));
        finish = () => {
          controller.enqueue(bytes.subarray(1000));
          controller.close();
        };
      },
    });
    return { response: upload(model, version, body), finish: () => finish() };
  }

  /** Starts both uploads and lets them past the version check, then lets the first win. */
  async function race(model: string, version: string, winnerBytes: Buffer, loserBytes: Buffer) {
    const winner = heldUpload(model, version, winnerBytes);
    const loser = heldUpload(model, version, loserBytes);
    // Both are streaming into the store: each has its staging file.
    await vi.waitFor(async () => expect(await readdir(join(server.ctx.config.artifactsDir, '.staging'))).toHaveLength(2));
    winner.finish();
    const won = await winner.response;
    expect(won.status).toBe(202);
    loser.finish();
    const lost = await loser.response;
    expect(lost.status).toBe(409);
    expect(await lost.json()).toMatchObject({ error: { code: 'CONFLICT', message: `model ${model} already has a build ${version}` } });
    return ((await won.json()) as { id: string }).id;
  }

  it("removes the loser's bytes: the store holds exactly what the rows reference", async () => {
    const winnerBytes = pseudoRandom(300_000, 'race-winner');
    const loserBytes = pseudoRandom(300_000, 'race-loser');
    const id = await race('router-race', '1.0', winnerBytes, loserBytes);
    expect((await server.settled(id)).status).toBe('ready');
    await settleAll();
    const stored = await listed();
    expect(stored).toContain(sha256(winnerBytes));
    expect(stored).not.toContain(sha256(loserBytes));
    expect(stored).toEqual(await referenced());
  });

  it("keeps the loser's bytes when another build holds the same content", async () => {
    const shared = pseudoRandom(200_000, 'race-shared');
    const first = await uploaded('router-twin', '1.0', shared);
    await race('router-twin', '2.0', pseudoRandom(200_000, 'race-twin-2'), shared);
    expect(await listed()).toContain(sha256(shared));
    expect((await server.settled(first)).status).toBe('ready');
    await settleAll();
    expect(await listed()).toEqual(await referenced());
  });
});

describe('a client that goes away mid-upload', () => {
  it('is logged as a client abort (warn, no stack), answered 499, and leaves no staged or stored bytes', async () => {
    const requestId = 'upload-abort-1';
    const staging = join(server.ctx.config.artifactsDir, '.staging');
    const before = await listed();
    // A raw request, so the test owns the socket: announce 1 MB, send a fifth, hang up.
    const req = request(`${server.url}/api/v1/builds?model=router-abort&version=1.0`, {
      method: 'POST',
      headers: { authorization: `Bearer ${server.tokens.acme}`, 'content-length': '1000000', 'x-request-id': requestId },
    });
    const clientError = new Promise<Error>((resolve) => req.once('error', resolve));
    req.write(pseudoRandom(200_000, 'abort'));
    // The server is streaming into the store once the upload's staging file exists.
    await vi.waitFor(async () => expect(await readdir(staging)).toHaveLength(1));
    req.destroy();
    expect((await clientError).message).toMatch(/socket hang up|ECONNRESET/);

    // The per-request line comes last, once the error handler and the store are done.
    await vi.waitFor(() => expect(linesOf(requestId).some((l) => l.msg === 'request')).toBe(true));
    const lines = linesOf(requestId);
    expect(lines.filter((l) => l.level >= LEVEL.error)).toEqual([]);
    expect(JSON.stringify(lines)).not.toMatch(/stack/);
    expect(lines).toContainEqual(expect.objectContaining({ level: LEVEL.warn, msg: 'client went away before the request was answered' }));
    expect(lines.find((l) => l.msg === 'request')).toMatchObject({ status: 499, path: '/api/v1/builds' });

    expect(await readdir(staging)).toEqual([]);
    expect(await listed()).toEqual(before);
    const row = await selectRow(server.ctx.db, "select count(*) as n from models where name = 'router-abort'") as { n: number };
    expect(row.n).toBe(0);
  });
});

function linesOf(requestId: string) {
  return parseLog(logged.lines()).filter((l) => l.requestId === requestId);
}

async function listed(): Promise<string[]> {
  const names: string[] = [];
  for await (const object of server.ctx.artifacts.list()) names.push(object.sha256);
  return names.sort();
}

/** Waits for every build's package jobs, so each .fota file stored has its row. */
async function settleAll(): Promise<void> {
  const ids = await selectRows<{ id: string }>(server.ctx.db, 'select id from builds');
  for (const { id } of ids) await server.settled(id);
}

/** Every artifact a build or package row names, as the database says. */
async function referenced(): Promise<string[]> {
  const rows = await selectRows<{ h: string }>(server.ctx.db, 'select sha256 as h from builds union select file_sha256 from packages');
  return rows.map((r) => r.h).sort();
}
