// `fota keys root`: the manufacturer's root of offline keys (which keys sign target
// statements, and how many must). Version 1 is signed by its own keys; `--previous` makes
// the next version, a rotation, which the previous version's keys must sign as well, so
// devices follow it without trusting the server that ships it. Offline, no server.
import { readFile } from 'node:fs/promises';
import { writeFileAtomic } from '../files.ts';
import { readPublicKey, readSigningKey } from '../signing/keys.ts';
import { parseRoot, signRoot, verifyInitialRoot, verifyRotation } from '../signing/offline-root.ts';
import { ExitCode, integerOption, type Output, parseOptions, required, UsageError } from './io.ts';

export const keysRootHelp = `Usage: fota keys root --manufacturer NAME --pubkey A.pub.json [--pubkey B.pub.json ...]
                      --threshold K --sign A.json [--sign B.json ...] --out ROOT.json
                      [--previous OLD-ROOT.json]

Writes a root of offline keys: the public keys (--pubkey) that may sign target
statements and how many of them must (--threshold K). Every --sign key signs it.

Without --previous it is version 1 and K of its own keys must sign it. With --previous
it is the next version (a rotation): K of the previous version's keys AND K of the new
keys must sign it. A key left out of the new version is revoked for devices that follow
the rotation. Register it with the server: fota keys register ROOT.json.
Devices pin version 1 (fota device run --root ROOT.json) and follow later versions that
packages carry.
`;

export async function keysRootCommand(args: string[], io: Output): Promise<number> {
  const { values } = parseOptions(args, {
    manufacturer: { type: 'string' },
    pubkey: { type: 'string', multiple: true },
    threshold: { type: 'string' },
    sign: { type: 'string', multiple: true },
    previous: { type: 'string' },
    out: { type: 'string' },
  });
  if (values.help) return io.out(keysRootHelp), ExitCode.Ok;
  if (!values.pubkey?.length) throw new UsageError('missing --pubkey KEY.pub.json (the offline keys of the root)');
  if (!values.sign?.length) throw new UsageError('missing --sign KEY.json (the secret keys that sign the root)');
  const out = required(values.out, '--out ROOT.json');
  const previous = values.previous ? parseRoot(await readFile(values.previous), values.previous) : undefined;
  const manufacturer = values.manufacturer ?? previous?.signed.manufacturer;
  const keys = await Promise.all(values.pubkey.map((p) => readPublicKey(p)));
  const signers = await Promise.all(values.sign.map((s) => readSigningKey(s)));
  const root = signRoot(
    {
      manufacturer: required(manufacturer, '--manufacturer NAME'),
      version: previous ? previous.signed.version + 1 : 1,
      threshold: integerOption(required(values.threshold, '--threshold K'), '--threshold', 1) ?? 1,
      keys: keys.map((k) => ({ keyid: k.keyid, publicKey: Buffer.from(k.publicKey).toString('base64') })),
    },
    signers,
  );
  // Checked as a device will check it, so a root nobody could follow is never written.
  const verdict = previous ? verifyRotation(previous.signed, root) : verifyInitialRoot(root);
  if (!verdict.ok) throw new UsageError(`${verdict.reason}; add the missing --sign keys`);
  await writeFileAtomic(out, `${JSON.stringify(root, null, 2)}\n`, 0o644);
  io.out(`wrote ${out}: root version ${root.signed.version} of ${root.signed.manufacturer}, ${root.signed.threshold} of ${keys.length} key(s) must sign\n`);
  return ExitCode.Ok;
}
