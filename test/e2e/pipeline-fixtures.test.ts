// The must-show of the server pipeline on real firmware-like images: three esbuild
// releases uploaded over HTTP become signed packages that verify against the key the
// server publishes and that Debian's bspatch applies to the exact target.
import { execFileSync } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { readFotaFile } from '../../src/packages/fota-file.ts';
import { verifyFotaFile } from '../../src/packages/verify.ts';
import { DELTA_CACHE, fixture, hasTool, tempDir } from '../support/harness.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

let server: TestServer;
beforeAll(async () => {
  // The three deltas come from the fixtures' delta cache (each pair diffed once, by the
  // global setup): this is about the pipeline around the diff (jobs, manifests, signatures,
  // the .fota file, bspatch on what is served); the diff itself is firmware-fixtures.test.ts's subject.
  server = await startTestServer({ deltaCacheDir: DELTA_CACHE });
});

describe('esbuild 0.24.0, 0.24.1, 0.25.0 uploaded over HTTP', () => {
  it('end with 0.25.0 ready: deltas from both earlier builds and a full image, each verifiable and patchable', async () => {
    const versions = ['0.24.0', '0.24.1', '0.25.0'] as const;
    const ids: string[] = [];
    for (const version of versions) {
      const res = await server.api(`/api/v1/builds?model=esbuild-linux-x64&version=${version}`, { method: 'POST', token: server.tokens.acme, body: await readFile(fixture(version)) });
      expect(res.status).toBe(202);
      ids.push(((await res.json()) as { id: string }).id);
    }
    const last = await server.settled(ids[2] ?? '', 300_000);
    expect(last.status).toBe('ready');
    expect(last.packages.map((p) => `${p.kind}:${p.fromVersion ?? '-'}`).sort()).toEqual(['bsdiff40:0.24.0', 'bsdiff40:0.24.1', 'full:-']);

    const keys = (await (await server.api('/api/v1/manufacturers/acme/keys', { token: server.tokens.operator })).json()) as Array<{ keyid: string; publicKey: string }>;
    const trust = { keys: keys.map((k) => ({ keyid: k.keyid, publicKey: new Uint8Array(Buffer.from(k.publicKey, 'base64')) })) };
    const target = await readFile(fixture('0.25.0'));
    const dir = tempDir();
    for (const pkg of last.packages) {
      const path = join(dir, `${pkg.id}.fota`);
      await writeFile(path, Buffer.from(await (await server.api(`/api/v1/packages/${pkg.id}/file`, { token: server.tokens.operator })).arrayBuffer()));
      expect(await verifyFotaFile(path, { trust, device: { model: 'esbuild-linux-x64' } })).toMatchObject({ ok: true, manifest: { target: { version: '0.25.0' } } });
      const file = await readFotaFile(path);
      const payload = (await readFile(path)).subarray(file.payloadOffset);
      if (pkg.kind === 'full') {
        expect(payload.equals(target)).toBe(true);
      } else if (hasTool('bspatch', 'bsdiff')) {
        await writeFile(join(dir, 'payload'), payload);
        execFileSync('bspatch', [fixture(pkg.fromVersion as '0.24.0' | '0.24.1'), join(dir, 'patched'), join(dir, 'payload')]);
        expect((await readFile(join(dir, 'patched'))).equals(target)).toBe(true);
        expect(payload.length).toBeLessThan(target.length / 10);
      }
    }
  });
});
