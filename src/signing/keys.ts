// Ed25519 signing keys (tweetnacl) and their JSON key files. A key file holds the secret
// half, so it is written with mode 0600 through a temporary name and refused on read when
// others can read it; nothing here ever prints a secret.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import nacl from 'tweetnacl';
import { z } from 'zod';
import { AppError } from '../errors.ts';
import { statInputFile, writeFileAtomic } from '../files.ts';

export interface PublicKey {
  keyid: string;
  publicKey: Uint8Array;
}

export interface SigningKey extends PublicKey {
  secretKey: Uint8Array;
}

/** keyid = hex SHA-256 of the raw 32-byte public key. */
export function keyIdOf(publicKey: Uint8Array): string {
  return createHash('sha256').update(publicKey).digest('hex');
}

export function generateKey(): SigningKey {
  const pair = nacl.sign.keyPair();
  return { keyid: keyIdOf(pair.publicKey), publicKey: pair.publicKey, secretKey: pair.secretKey };
}

const base64 = z.string().regex(/^[A-Za-z0-9+/]*={0,2}$/, 'must be base64');
const publicKeyFileSchema = z.object({
  type: z.literal('ed25519'),
  keyid: z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 hex digits'),
  publicKey: base64,
});
const keyFileSchema = publicKeyFileSchema.extend({ secretKey: base64.optional() });

export type PublicKeyFile = z.infer<typeof publicKeyFileSchema>;

export function publicKeyFile(key: PublicKey): PublicKeyFile {
  return { type: 'ed25519', keyid: key.keyid, publicKey: Buffer.from(key.publicKey).toString('base64') };
}

/** Writes KEY.json (mode 0600, with the secret) and KEY.pub.json (public half only). */
export async function writeKeyFiles(path: string, key: SigningKey): Promise<{ secretPath: string; publicPath: string }> {
  const publicPath = path.endsWith('.json') ? `${path.slice(0, -'.json'.length)}.pub.json` : `${path}.pub.json`;
  const secret = { ...publicKeyFile(key), secretKey: Buffer.from(key.secretKey).toString('base64') };
  await writeFileAtomic(path, `${JSON.stringify(secret, null, 2)}\n`, 0o600);
  await writeFileAtomic(publicPath, `${JSON.stringify(publicKeyFile(key), null, 2)}\n`, 0o644);
  return { secretPath: path, publicPath };
}

/** Reads a key file for signing: it must hold the secret half and be private to its owner. */
export async function readSigningKey(path: string): Promise<SigningKey> {
  const info = await statInputFile(path, 'key file');
  if ((info.mode & 0o077) !== 0) {
    throw new AppError(
      'VALIDATION',
      `key file ${path} is accessible by others (mode ${(info.mode & 0o777).toString(8).padStart(4, '0')}); run: chmod 600 ${path}`,
    );
  }
  const key = parseKeyFile(await readKeyText(path, info.size), path);
  if (!('secretKey' in key)) throw new AppError('VALIDATION', `key file ${path} has no secretKey; pass the private key file, not the .pub.json`);
  return key;
}

/** Reads a public key from a `.pub.json` or a full key file (the secret half is ignored). */
export async function readPublicKey(path: string): Promise<PublicKey> {
  const info = await statInputFile(path, 'public key file');
  const key = parseKeyFile(await readKeyText(path, info.size), path);
  return { keyid: key.keyid, publicKey: key.publicKey };
}

export function parseKeyFile(text: string, name: string): PublicKey | SigningKey {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new AppError('VALIDATION', `key file ${name} is not JSON`);
  }
  const parsed = keyFileSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new AppError('VALIDATION', `key file ${name}: ${issue ? `${issue.path.join('.') || 'file'} ${issue.message}` : 'bad shape'}`);
  }
  const publicKey = Buffer.from(parsed.data.publicKey, 'base64');
  if (publicKey.length !== nacl.sign.publicKeyLength) {
    throw new AppError('VALIDATION', `key file ${name}: publicKey must be ${nacl.sign.publicKeyLength} bytes, got ${publicKey.length}`);
  }
  if (keyIdOf(publicKey) !== parsed.data.keyid) {
    throw new AppError('VALIDATION', `key file ${name}: keyid does not match the public key`);
  }
  const key: PublicKey = { keyid: parsed.data.keyid, publicKey: new Uint8Array(publicKey) };
  if (parsed.data.secretKey === undefined) return key;
  const secretKey = Buffer.from(parsed.data.secretKey, 'base64');
  // tweetnacl's 64-byte secret key ends with the public key: a mismatch means a mixed-up file.
  if (secretKey.length !== nacl.sign.secretKeyLength || !secretKey.subarray(32).equals(publicKey)) {
    throw new AppError('VALIDATION', `key file ${name}: secretKey does not belong to publicKey`);
  }
  return { ...key, secretKey: new Uint8Array(secretKey) };
}

async function readKeyText(path: string, size: number): Promise<string> {
  if (size > 64 * 1024) throw new AppError('VALIDATION', `key file ${path} is ${size} bytes; a key file is under 1 KiB`);
  return readFile(path, 'utf8');
}
