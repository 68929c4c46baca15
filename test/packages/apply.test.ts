import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { applyPackage } from '../../src/packages/apply.ts';
import { encodeHeader, readFotaFile } from '../../src/packages/fota-file.ts';
import type { Manifest, PackageEnvelope } from '../../src/packages/manifest.ts';
import { verifyFotaFile } from '../../src/packages/verify.ts';
import { signEnvelope } from '../../src/signing/envelope.ts';
import { generateKey } from '../../src/signing/keys.ts';
import { tempDir } from '../support/harness.ts';
import { makeTestPackage, pool, type TestPackage } from '../support/packages.ts';

/** Rewrites a package file with another envelope (re-signed or not) and/or payload. */
async function rewrite(pkg: TestPackage, change: { envelope?: (e: PackageEnvelope) => PackageEnvelope; payload?: (p: Buffer) => Buffer }) {
  const file = await readFotaFile(pkg.packagePath);
  const bytes = await readFile(pkg.packagePath);
  const envelope = (change.envelope ?? ((e) => e))(file.envelope as unknown as PackageEnvelope);
  const payload = (change.payload ?? ((p) => p))(bytes.subarray(file.payloadOffset));
  await writeFile(pkg.packagePath, Buffer.concat([encodeHeader(envelope), payload]));
}

function resign(pkg: TestPackage, edit: (m: Manifest) => Manifest) {
  return (e: PackageEnvelope) => signEnvelope(edit(e.signed), [pkg.key]);
}

async function applyTo(pkg: TestPackage, options: { base?: string | null; model?: string; securityVersion?: number; trustOther?: boolean } = {}) {
  const outPath = join(pkg.dir, 'installed.img');
  const verdict = await applyPackage({
    packagePath: pkg.packagePath,
    ...(options.base === null ? {} : { basePath: options.base ?? pkg.oldPath }),
    outPath,
    trust: { keys: [options.trustOther ? generateKey() : pkg.key] },
    device: { model: options.model ?? 'router-x', securityVersion: options.securityVersion ?? 1 },
    pool,
  });
  return { verdict, outPath };
}

async function expectNothingWritten(pkg: TestPackage) {
  const left = await readdir(pkg.dir);
  expect(left.sort()).toEqual(['p.fota', 'v1.img', 'v2.img']);
}

describe('applying a package on the device side', () => {
  it('installs a delta package to the byte-exact target', async () => {
    const pkg = await makeTestPackage(tempDir());
    const { verdict, outPath } = await applyTo(pkg);
    expect(verdict).toMatchObject({ ok: true });
    expect((await readFile(outPath)).equals(pkg.newImage)).toBe(true);
  });

  it('installs a full package without a base image', async () => {
    const pkg = await makeTestPackage(tempDir(), { full: true });
    const { verdict, outPath } = await applyTo(pkg, { base: null });
    expect(verdict).toMatchObject({ ok: true, manifest: { source: null, payload: { kind: 'full' } } });
    expect((await readFile(outPath)).equals(pkg.newImage)).toBe(true);
  });

  const rejections: Array<[string, (pkg: TestPackage) => Promise<unknown>, Parameters<typeof applyTo>[1], number, RegExp]> = [
    ['a flipped payload byte', (p) => rewrite(p, { payload: (b) => flip(b, b.length - 10) }), {}, 402, /payload chunk \d+ of \d+ does not match/],
    ['a flipped manifest field', (p) => rewrite(p, { envelope: (e) => ({ ...e, signed: { ...e.signed, target: { ...e.signed.target, securityVersion: 99 } } }) }), {}, 404, /signature/],
    ['a signature by an untrusted key', async () => undefined, { trustOther: true }, 404, /0 valid signature/],
    ['the wrong base image', async () => undefined, { base: 'new' }, 403, /base image has sha256/],
    ['a package for another model', async () => undefined, { model: 'router-y' }, 403, /for model router-x, this device is router-y/],
    ['a lower security version', async () => undefined, { securityVersion: 4 }, 405, /security version 3 is below the device's 4/],
    ['a truncated payload', (p) => rewrite(p, { payload: (b) => b.subarray(0, b.length - 1) }), {}, 402, /truncated/],
    ['a truncated envelope', (p) => writeFile(p.packagePath, Buffer.from('FOTA1\n\x00\x00\x01\x00{"sig')), {}, 402, /past the end of the file/],
    ['an empty file', (p) => writeFile(p.packagePath, ''), {}, 402, /too short/],
    ['a file that is not a package', (p) => writeFile(p.packagePath, 'PK\x03\x04 a zip file, say'), {}, 402, /no FOTA1 magic/],
    ['a patch that does not produce the signed target', (p) => rewrite(p, { envelope: resign(p, (m) => ({ ...m, target: { ...m.target, sha256: 'f'.repeat(64) } })) }), {}, 410, /is not target version 2.0/],
    ['a delta with no base image given', async () => undefined, { base: null }, 403, /give the base image/],
  ];

  it.each(rejections)('rejects %s and writes nothing', async (_name, damage, options, code, reason) => {
    const pkg = await makeTestPackage(tempDir());
    await damage(pkg);
    const { verdict } = await applyTo(pkg, { ...options, base: options?.base === 'new' ? pkg.newPath : options?.base });
    expect(verdict).toMatchObject({ ok: false, resultCode: code });
    if (!verdict.ok) expect(verdict.reason).toMatch(reason);
    await expectNothingWritten(pkg);
  });

  it('names the one bad slice of a damaged payload', async () => {
    const pkg = await makeTestPackage(tempDir(), { full: true, chunkSize: 100_000 });
    await rewrite(pkg, { payload: (b) => flip(b, 250_000) });
    const verdict = await verifyFotaFile(pkg.packagePath, { trust: { keys: [pkg.key] } });
    expect(verdict).toMatchObject({ ok: false, resultCode: 402, reason: 'payload chunk 3 of 5 does not match its hash' });
  });

  it('refuses a validly signed manifest that breaks the format rules', async () => {
    const pkg = await makeTestPackage(tempDir());
    await rewrite(pkg, { envelope: resign(pkg, (m) => ({ ...m, payload: { ...m.payload, chunks: [] } })) });
    const { verdict } = await applyTo(pkg);
    expect(verdict).toMatchObject({ ok: false, resultCode: 402, reason: expect.stringMatching(/payload.chunks must list/) });
  });
});

function flip(bytes: Buffer, at: number): Buffer {
  const copy = Buffer.from(bytes);
  copy[at] = (copy[at] ?? 0) ^ 0x01;
  return copy;
}
