// The manufacturer keys a device pins, read from a file: a `.pub.json` key file, or the
// list the server publishes at GET /api/v1/manufacturers/:name/keys (revoked keys are kept
// as revoked, so they count for nothing). A key whose keyid is not the SHA-256 of its
// public key is refused: a mislabelled key is a broken or tampered file.
import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { AppError } from '../errors.ts';
import type { TrustedKey, TrustPolicy } from '../signing/envelope.ts';
import { keyIdOf, parseKeyFile } from '../signing/keys.ts';

const listedKeySchema = z.object({
  keyid: z.string().regex(/^[0-9a-f]{64}$/),
  publicKey: z.string().regex(/^[A-Za-z0-9+/]*={0,2}$/),
  status: z.enum(['active', 'retired', 'revoked']).optional(),
});
const keyListSchema = z.array(listedKeySchema).max(64);

export function parseTrust(text: string, name: string): TrustPolicy {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new AppError('VALIDATION', `pinned key file ${name} is not JSON`);
  }
  if (!Array.isArray(json)) {
    const key = parseKeyFile(text, name);
    return { keys: [{ keyid: key.keyid, publicKey: key.publicKey }] };
  }
  const parsed = keyListSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new AppError('VALIDATION', `pinned key list ${name}: ${issue ? `${issue.path.join('.')} ${issue.message}` : 'bad shape'}`);
  }
  const keys: TrustedKey[] = parsed.data.map((k) => {
    const publicKey = new Uint8Array(Buffer.from(k.publicKey, 'base64'));
    if (publicKey.length !== 32 || keyIdOf(publicKey) !== k.keyid) throw new AppError('VALIDATION', `pinned key list ${name}: key ${k.keyid.slice(0, 12)}… does not match its keyid`);
    return { keyid: k.keyid, publicKey, ...(k.status === 'revoked' ? { revoked: true } : {}) };
  });
  if (!keys.some((k) => !k.revoked)) throw new AppError('VALIDATION', `pinned key list ${name} has no key that is not revoked`);
  return { keys };
}

export async function readTrust(path: string): Promise<TrustPolicy> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new AppError('IO', `cannot read pinned key file ${path}: ${code === 'ENOENT' ? 'no such file' : String(code ?? err)}`);
  }
  return parseTrust(text, path);
}
