// The device's second signature, with no server: `fota package apply` and applyPackage
// require, on a device that pins the manufacturer's root of offline keys, a target
// statement k of those keys signed for exactly the image the package installs. A package
// signed by a delivery key the device trusts is refused with FUMO 404, before anything is
// written, when no valid statement vouches for its target: none at all (formatVersion 1),
// too few signatures, a revoked key, an expired statement, a statement for another image,
// or a rotation the old keys did not sign.
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { applyPackage } from '../../src/packages/apply.ts';
import { makePackage } from '../../src/packages/make.ts';
import { encodeHeader, readFotaFile } from '../../src/packages/fota-file.ts';
import type { Manifest, OfflineSignatures } from '../../src/packages/manifest.ts';
import { signEnvelope } from '../../src/signing/envelope.ts';
import { generateKey, writeKeyFiles } from '../../src/signing/keys.ts';
import { type RootEnvelope, signRoot } from '../../src/signing/offline-root.ts';
import type { TargetEnvelope } from '../../src/signing/target-statement.ts';
import { fotaInProcess } from '../support/cli.ts';
import { nextBuild, pseudoRandom, tempDir } from '../support/harness.ts';
import { offlineVendor, rootKeyOf, statementFor } from '../support/offline.ts';
import { pool } from '../support/packages.ts';

const vendor = offlineVendor('acme', 3, 2);
const [k1, k2, k3] = vendor.keys as [(typeof vendor.keys)[0], (typeof vendor.keys)[0], (typeof vendor.keys)[0]];
const server = generateKey(); // the server's online delivery key
const oldImage = pseudoRandom(200_000, 'v1');
const newImage = nextBuild(oldImage);
const evilImage = nextBuild(oldImage, 'evil');

async function setup(target: Buffer, offline: OfflineSignatures | undefined, options: { full?: boolean; securityVersion?: number } = {}) {
  const dir = tempDir();
  const oldPath = join(dir, 'v1.img');
  const newPath = join(dir, 'v2.img');
  await writeFile(oldPath, oldImage);
  await writeFile(newPath, target);
  const packagePath = join(dir, 'p.fota');
  await makePackage({
    manufacturer: 'acme',
    model: 'router-x',
    ...(options.full ? {} : { from: { path: oldPath, version: '1.0' } }),
    to: { path: newPath, version: '2.0', securityVersion: options.securityVersion ?? 0 },
    key: server,
    ...(offline ? { offline } : {}),
    outPath: packagePath,
    pool,
    chunkSize: 4096,
  });
  return { dir, oldPath, packagePath, outPath: join(dir, 'installed.img') };
}

async function apply(pkg: Awaited<ReturnType<typeof setup>>, root: RootEnvelope | undefined, extra: { now?: number; hardwareVersion?: string } = {}) {
  return applyPackage({
    packagePath: pkg.packagePath,
    basePath: pkg.oldPath,
    outPath: pkg.outPath,
    trust: { keys: [server], ...(root ? { offline: { root, ...(extra.now === undefined ? {} : { now: () => extra.now as number }) } } : {}) },
    device: { model: 'router-x', ...(extra.hardwareVersion ? { hardwareVersion: extra.hardwareVersion } : {}) },
    pool,
  });
}

const signed = (statement: TargetEnvelope, roots: RootEnvelope[] = [vendor.root]): OfflineSignatures => ({ target: statement, roots });
const good = () => statementFor(vendor, newImage, { model: 'router-x', version: '2.0', hardware: ['rev-b'] });

async function expectNothingInstalled(pkg: { dir: string }) {
  expect(await readdir(pkg.dir)).not.toContain('installed.img');
}

describe('a device that pins the manufacturer root of offline keys', () => {
  it('installs a formatVersion 2 package whose target statement k of n offline keys signed', async () => {
    const pkg = await setup(newImage, signed(good()));
    const verdict = await apply(pkg, vendor.root);
    expect(verdict).toMatchObject({ ok: true, manifest: { formatVersion: 2 } });
    expect(await readFile(pkg.outPath)).toEqual(newImage);
  });

  it('refuses a package the server signed for an image the manufacturer never signed (no statement), FUMO 404', async () => {
    const pkg = await setup(evilImage, undefined);
    const verdict = await apply(pkg, vendor.root);
    expect(verdict).toMatchObject({ ok: false, resultCode: 404 });
    expect(!verdict.ok && verdict.reason).toMatch(/no target statement signed by acme's offline keys/);
    await expectNothingInstalled(pkg);
  });

  it("refuses a package that borrows a real statement for another image (the server's own target), FUMO 404", async () => {
    // The statement for the genuine 2.0 is valid; the package installs another image. Our
    // own package maker refuses to write that, so the attacker writes the manifest itself.
    const pkg = await setup(evilImage, undefined);
    const file = await readFotaFile(pkg.packagePath);
    const bytes = await readFile(pkg.packagePath);
    const manifest = { ...(file.envelope.signed as Manifest), formatVersion: 2 as const, offline: signed(good()) };
    await writeFile(pkg.packagePath, Buffer.concat([encodeHeader(signEnvelope(manifest, [server])), bytes.subarray(file.payloadOffset)]));
    const verdict = await apply(pkg, vendor.root);
    expect(verdict).toMatchObject({ ok: false, resultCode: 404 });
    expect(!verdict.ok && verdict.reason).toMatch(/vouches for router-x 2.0 .* not this package's target/);
    await expectNothingInstalled(pkg);
  });

  it('refuses a statement signed by fewer than k keys, and by a key a rotation revoked', async () => {
    const one = await setup(newImage, signed(statementFor(vendor, newImage, { model: 'router-x', version: '2.0' }, [k1])));
    expect(await apply(one, vendor.root)).toMatchObject({ ok: false, resultCode: 404 });
    // Version 2 drops k2: a statement signed by k1 and k2 no longer counts, by k1 and k3 it does.
    const v2 = signRoot({ manufacturer: 'acme', version: 2, threshold: 2, keys: [k1, k3].map(rootKeyOf) }, [k1, k2, k3]);
    const revoked = await setup(newImage, signed(statementFor(vendor, newImage, { model: 'router-x', version: '2.0' }, [k1, k2]), [vendor.root, v2]));
    const verdict = await apply(revoked, vendor.root);
    expect(verdict).toMatchObject({ ok: false, resultCode: 404 });
    expect(!verdict.ok && verdict.reason).toMatch(/root version 2/);
    const fine = await setup(newImage, signed(statementFor(vendor, newImage, { model: 'router-x', version: '2.0' }, [k1, k3]), [vendor.root, v2]));
    const accepted = await apply(fine, vendor.root);
    expect(accepted).toMatchObject({ ok: true });
    // The device is told the newer root, to keep: the server cannot later withhold it.
    expect(accepted.ok && accepted.root?.signed.version).toBe(2);
  });

  it('follows a rotation to new keys signed by the old threshold, and refuses a forged one', async () => {
    const k4 = generateKey();
    const k5 = generateKey();
    const v2 = signRoot({ manufacturer: 'acme', version: 2, threshold: 2, keys: [k4, k5].map(rootKeyOf) }, [k1, k2, k4, k5]);
    const rotatedVendor = { ...vendor, keys: [k4, k5], root: v2 };
    const pkg = await setup(newImage, signed(statementFor(rotatedVendor, newImage, { model: 'router-x', version: '2.0' }), [vendor.root, v2]));
    expect(await apply(pkg, vendor.root)).toMatchObject({ ok: true });
    // A compromised server's own "rotation" to a key it holds: not signed by k of the old keys.
    const forged = signRoot({ manufacturer: 'acme', version: 2, threshold: 1, keys: [rootKeyOf(server)] }, [server, k1]);
    const byServer = { ...vendor, keys: [server], root: forged };
    const evil = await setup(evilImage, signed(statementFor(byServer, evilImage, { model: 'router-x', version: '2.0' }), [vendor.root, forged]));
    const verdict = await apply(evil, vendor.root);
    expect(verdict).toMatchObject({ ok: false, resultCode: 404 });
    expect(!verdict.ok && verdict.reason).toMatch(/not signed by the keys of version 1/);
    await expectNothingInstalled(evil);
  });

  it('refuses an expired statement (freeze attack) and accepts it before it expires', async () => {
    const expires = '2030-01-01T00:00:00.000Z';
    const pkg = await setup(newImage, signed(statementFor(vendor, newImage, { model: 'router-x', version: '2.0', expires })));
    expect(await apply(pkg, vendor.root, { now: Date.parse(expires) - 1 })).toMatchObject({ ok: true });
    const late = await apply(pkg, vendor.root, { now: Date.parse(expires) });
    expect(late).toMatchObject({ ok: false, resultCode: 404 });
    expect(!late.ok && late.reason).toMatch(/expired/);
  });

  it('refuses an image for other hardware with FUMO 403', async () => {
    const pkg = await setup(newImage, signed(good()));
    expect(await apply(pkg, vendor.root, { hardwareVersion: 'rev-a' })).toMatchObject({ ok: false, resultCode: 403 });
    expect(await apply(pkg, vendor.root, { hardwareVersion: 'rev-b' })).toMatchObject({ ok: true });
  });

  it('keeps accepting formatVersion 1 packages where no offline root is pinned', async () => {
    const pkg = await setup(newImage, undefined);
    expect(await apply(pkg, undefined)).toMatchObject({ ok: true, manifest: { formatVersion: 1 } });
    // And a formatVersion 2 package on such a device: the delivery signature is what it checks.
    const v2 = await setup(newImage, signed(good()));
    expect(await apply(v2, undefined)).toMatchObject({ ok: true });
  });
});

describe('fota package make|apply with offline signatures', () => {
  it('builds, signs and applies end to end at the command line, and refuses an unsigned image with FUMO 404', async () => {
    const dir = tempDir();
    const keyFiles = await Promise.all(vendor.keys.map((k, i) => writeKeyFiles(join(dir, `offline-${i}.json`), k)));
    const serverKey = await writeKeyFiles(join(dir, 'server.json'), server);
    const [oldPath, newPath, evilPath] = [join(dir, 'v1.img'), join(dir, 'v2.img'), join(dir, 'evil.img')];
    await writeFile(oldPath, oldImage);
    await writeFile(newPath, newImage);
    await writeFile(evilPath, evilImage);
    const rootPath = join(dir, 'root.json');
    const pub = keyFiles.flatMap((k) => ['--pubkey', k.publicPath]);
    const root = await fotaInProcess(['keys', 'root', '--manufacturer', 'acme', ...pub, '--threshold', '2', '--sign', keyFiles[0]?.secretPath ?? '', '--out', rootPath]);
    expect(root.code, root.stderr).toBe(2);
    expect(root.stderr).toMatch(/not signed by its own keys.*add the missing --sign keys/);
    const made = await fotaInProcess(['keys', 'root', '--manufacturer', 'acme', ...pub, '--threshold', '2', '--sign', keyFiles[0]?.secretPath ?? '', '--sign', keyFiles[1]?.secretPath ?? '', '--out', rootPath]);
    expect(made.code, made.stderr).toBe(0);

    const statementPath = join(dir, 'v2.target.json');
    const sign = await fotaInProcess(['build', 'sign', newPath, '--key', keyFiles[0]?.secretPath ?? '', '--key', keyFiles[2]?.secretPath ?? '', '--manufacturer', 'acme', '--model', 'router-x', '--version', '2.0']);
    expect(sign.code, sign.stderr).toBe(0);
    expect(sign.stdout).toMatch(/wrote .*v2.img.target.json: acme router-x 2.0/);
    await writeFile(statementPath, await readFile(`${newPath}.target.json`));
    const common = ['--from', oldPath, '--from-version', '1.0', '--model', 'router-x', '--manufacturer', 'acme', '--to-version', '2.0', '--key', serverKey.secretPath];
    expect((await fotaInProcess(['package', 'make', ...common, '--to', newPath, '--statement', statementPath, '--root', rootPath, '--out', join(dir, 'good.fota')])).code).toBe(0);
    expect((await fotaInProcess(['package', 'make', ...common, '--to', evilPath, '--out', join(dir, 'evil.fota')])).code).toBe(0);
    // The statement for 2.0 does not fit another image: make refuses to write such a package.
    const mismatched = await fotaInProcess(['package', 'make', ...common, '--to', evilPath, '--statement', statementPath, '--out', join(dir, 'x.fota')]);
    expect(mismatched.code).toBe(2);
    expect(mismatched.stderr).toMatch(/target statement vouches for router-x 2.0/);

    const applyArgs = (pkg: string, out: string) => ['package', 'apply', join(dir, pkg), '--base', oldPath, '--out', join(dir, out), '--pubkey', serverKey.publicPath, '--root', rootPath];
    const ok = await fotaInProcess(applyArgs('good.fota', 'good.img'));
    expect(ok.code, ok.stderr).toBe(0);
    expect(await readFile(join(dir, 'good.img'))).toEqual(newImage);
    const refused = await fotaInProcess(applyArgs('evil.fota', 'evil-out.img'));
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/rejected, FUMO 404 signature validation failed: package carries no target statement signed by acme's offline keys/);
    expect(await readdir(dir)).not.toContain('evil-out.img');
    const verify = await fotaInProcess(['package', 'verify', join(dir, 'evil.fota'), '--pubkey', serverKey.publicPath, '--root', rootPath]);
    expect(verify.code).toBe(1);
  });

  it('refuses a root file that is damaged or hostile', async () => {
    const dir = tempDir();
    const serverKey = await writeKeyFiles(join(dir, 'server.json'), server);
    for (const [name, text] of [
      ['not-json', '{'],
      ['huge', `{"pad":"${'x'.repeat(70 * 1024)}"}`],
      ['unsigned', JSON.stringify({ ...vendor.root, signatures: [] })],
      ['wrong-type', JSON.stringify({ signed: { type: 'fota.package' }, signatures: [] })],
    ] as const) {
      const path = join(dir, `${name}.json`);
      await writeFile(path, text);
      const res = await fotaInProcess(['package', 'verify', join(dir, 'none.fota'), '--pubkey', serverKey.publicPath, '--root', path]);
      expect(res.code, name).toBe(2);
      expect(res.stderr, name).toMatch(/root file/);
    }
  });
});
