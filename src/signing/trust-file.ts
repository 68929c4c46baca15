// Trusted public keys from a file, in either of the two formats people have: a single key
// file (`KEY.pub.json`, or the full `KEY.json`, whose secret half is ignored) or the list
// the server publishes at GET /api/v1/manufacturers/:name/keys (revoked keys are kept as
// revoked, so they count for nothing). A key whose keyid is not the SHA-256 of its public
// key is refused: a mislabelled key is a broken or tampered file. Devices (`fota device
// run`, `fota simulate`) and `fota package verify|apply` all read keys here.
import { readFile, stat } from 'node:fs/promises';
import { z } from 'zod';
import { AppError } from '../errors.ts';
import { type TrustedKey, type TrustPolicy, verifyEnvelope } from './envelope.ts';
import { keyIdOf, parseKeyFile } from './keys.ts';
import { parseRoot, type RootEnvelope, rootPolicy } from './offline-root.ts';

const MAX_KEY_FILE_BYTES = 64 * 1024;

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

/** Reads a key file in either format; a file over 64 KiB is refused before it is read. */
export async function readTrust(path: string): Promise<TrustPolicy> {
  let text: string;
  try {
    const { size } = await stat(path);
    if (size > MAX_KEY_FILE_BYTES) throw new AppError('VALIDATION', `key file ${path} is ${size} bytes; a key file or key list is under ${MAX_KEY_FILE_BYTES / 1024} KiB`);
    text = await readFile(path, 'utf8');
  } catch (err) {
    if (err instanceof AppError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    throw new AppError('IO', `cannot read key file ${path}: ${code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a directory' : String(code ?? err)}`);
  }
  return parseTrust(text, path);
}

/**
 * Several files' keys as one policy (`--pubkey A --pubkey B`): a key listed twice counts
 * once, and a key revoked in any of them stays revoked.
 */
export function mergeTrust(policies: TrustPolicy[], threshold?: number): TrustPolicy {
  const byId = new Map<string, TrustedKey>();
  for (const key of policies.flatMap((p) => p.keys)) {
    const seen = byId.get(key.keyid);
    byId.set(key.keyid, seen?.revoked || key.revoked ? { ...key, revoked: true } : key);
  }
  const offline = policies.find((p) => p.offline)?.offline;
  return { keys: [...byId.values()], ...(threshold === undefined ? {} : { threshold }), ...(offline ? { offline } : {}) };
}

/**
 * The root of a manufacturer's offline keys a device pins (`--root ROOT.json`, from `fota
 * keys root`): read under the same size limit, and refused unless its own threshold of
 * keys signed it, so a damaged or hand-edited file fails here rather than at every package.
 */
export async function readPinnedRoot(path: string): Promise<RootEnvelope> {
  let text: string;
  try {
    const { size } = await stat(path);
    if (size > MAX_KEY_FILE_BYTES) throw new AppError('VALIDATION', `root file ${path} is ${size} bytes; a root of offline keys is under ${MAX_KEY_FILE_BYTES / 1024} KiB`);
    text = await readFile(path, 'utf8');
  } catch (err) {
    if (err instanceof AppError) throw err;
    throw new AppError('IO', `cannot read root file ${path}: ${String((err as NodeJS.ErrnoException).code ?? err)}`);
  }
  const root = parseRoot(text, `root file ${path}`);
  const own = verifyEnvelope(root, rootPolicy(root.signed));
  if (!own.ok) throw new AppError('VALIDATION', `root file ${path} is not signed by its own keys: ${own.reason}`);
  return root;
}

/** A trust policy that also requires the manufacturer's offline signatures from `root` on. */
export function withOfflineRoot(trust: TrustPolicy, root: RootEnvelope | undefined, now?: () => number): TrustPolicy {
  return root ? { ...trust, offline: { root, ...(now ? { now } : {}) } } : trust;
}
