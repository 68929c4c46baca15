// `fota keys generate`: a new Ed25519 signing key. Prints the keyid and public key only.
import { access } from 'node:fs/promises';
import { generateKey, writeKeyFiles } from '../signing/keys.ts';
import { type Output, parseOptions, required, UsageError } from './io.ts';

export const keysHelp = `Usage: fota keys generate --out KEY.json [--force]
       fota keys root ...        a root of offline keys (fota keys root --help)
       fota keys register|show|revoke|policy ...
                                 the server's copy (fota keys register --help)

Creates an Ed25519 signing key: KEY.json (mode 0600, holds the secret key) and
KEY.pub.json (public half, what devices pin). Prints the keyid and the public key.
An existing KEY.json is never overwritten unless --force is given.
`;

export async function keysCommand(args: string[], io: Output): Promise<number> {
  const [sub, ...rest] = args;
  if (sub === 'root') return (await import('./keys-root.ts')).keysRootCommand(rest, io);
  if (sub === 'register' || sub === 'show' || sub === 'revoke' || sub === 'policy') return (await import('./keys-offline.ts')).keysOfflineCommand(sub, rest, io);
  if (sub !== 'generate') throw new UsageError(sub ? `unknown command: keys ${sub}` : 'missing command: keys generate');
  const { values } = parseOptions(rest, { out: { type: 'string' }, force: { type: 'boolean' } });
  if (values.help) return io.out(keysHelp), 0;
  const out = required(values.out, '--out KEY.json');
  if (!values.force && (await exists(out))) throw new UsageError(`${out} already exists; choose another name or pass --force`);
  const key = generateKey();
  const written = await writeKeyFiles(out, key);
  io.out(`keyid: ${key.keyid}\npublicKey: ${Buffer.from(key.publicKey).toString('base64')}\n`);
  io.err(`wrote ${written.secretPath} (mode 0600, keep it secret) and ${written.publicPath}\n`);
  return 0;
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}
