// A manufacturer's root of offline keys: which keys may sign target statements and how
// many of them must (k of n). Version 1 is signed by its own keys (whoever registers it
// holds them); every later version is a rotation, signed by the threshold of the version
// before it AND its own, so a device that pins version 1 follows rotations shipped by an
// untrusted server: the server can withhold a rotation but never forge one. A key left
// out of a newer version is revoked: its signatures count for nothing from then on.
import { AppError } from '../errors.ts';
import { signEnvelope, type TrustedKey, verifyEnvelope } from './envelope.ts';
import type { SigningKey } from './keys.ts';
import { MAX_ROTATIONS, type Root, type RootEnvelope, rootSchema } from './root-schema.ts';
import { firstIssue, parseSignedDocument } from './signed-document.ts';

export { MAX_ROOT_KEYS, MAX_ROTATIONS, type Root, type RootEnvelope, rootSchema } from './root-schema.ts';

/** Signs a root: every key in `signers` signs (version 1: its own keys; later: old and new). */
export function signRoot(root: Omit<Root, 'type'>, signers: SigningKey[]): RootEnvelope {
  const parsed = rootSchema.safeParse({ type: 'fota.root', ...root });
  if (!parsed.success) throw new AppError('VALIDATION', `root of offline keys: ${firstIssue(parsed.error)}`);
  return signEnvelope(parsed.data, signers);
}

/** Parses a root document (shape only: check it with verifyInitialRoot or followRotations). */
export function parseRoot(input: string | Uint8Array | unknown, what = 'root of offline keys'): RootEnvelope {
  const envelope = typeof input === 'string' || input instanceof Uint8Array ? parseSignedDocument(input, what) : parseSignedDocument(JSON.stringify(input) ?? '', what);
  const parsed = rootSchema.safeParse(envelope.signed);
  if (!parsed.success) throw new AppError('VALIDATION', `${what}: signed.${firstIssue(parsed.error)}`);
  return { signed: parsed.data, signatures: envelope.signatures };
}

/** The keys of a root, as a verification policy; `revoked` keyids count for nothing. */
export function rootPolicy(root: Root, revoked: ReadonlySet<string> = new Set()): { keys: TrustedKey[]; threshold: number } {
  return {
    keys: root.keys.map((k) => ({ keyid: k.keyid, publicKey: new Uint8Array(Buffer.from(k.publicKey, 'base64')), ...(revoked.has(k.keyid) ? { revoked: true } : {}) })),
    threshold: root.threshold,
  };
}

export type RootVerdict = { ok: true; root: RootEnvelope } | { ok: false; reason: string };

/** Version 1 vouches for itself: the threshold of its own keys must have signed it. */
export function verifyInitialRoot(envelope: RootEnvelope): RootVerdict {
  if (envelope.signed.version !== 1) return { ok: false, reason: `a first root must be version 1, this is version ${envelope.signed.version}; later versions are rotations of an earlier one` };
  const own = verifyEnvelope(envelope, rootPolicy(envelope.signed));
  if (!own.ok) return { ok: false, reason: `root version 1 is not signed by its own keys: ${own.reason}` };
  return { ok: true, root: envelope };
}

/** One rotation: the next version, signed by the threshold of `current` and by its own. */
export function verifyRotation(current: Root, next: RootEnvelope): RootVerdict {
  const n = next.signed;
  if (n.manufacturer !== current.manufacturer) return { ok: false, reason: `rotation is for manufacturer ${n.manufacturer}, the trusted root is ${current.manufacturer}'s` };
  if (n.version !== current.version + 1) return { ok: false, reason: `rotation to version ${n.version} does not follow version ${current.version}` };
  const old = verifyEnvelope(next, rootPolicy(current));
  if (!old.ok) return { ok: false, reason: `rotation to version ${n.version} is not signed by the keys of version ${current.version}: ${old.reason}` };
  const own = verifyEnvelope(next, rootPolicy(n));
  if (!own.ok) return { ok: false, reason: `rotation to version ${n.version} is not signed by its own keys: ${own.reason}` };
  return { ok: true, root: next };
}

/**
 * From the root a device trusts to the newest it can verify: rotations at or below the
 * current version are skipped (already followed), the rest must chain one version at a
 * time. A bad link stops everything: a device never half-follows a forged chain.
 */
export function followRotations(current: RootEnvelope, rotations: readonly RootEnvelope[]): RootVerdict {
  if (rotations.length > MAX_ROTATIONS) return { ok: false, reason: `${rotations.length} rotations; at most ${MAX_ROTATIONS} are followed at once` };
  let root = current;
  const newer = rotations.filter((r) => r.signed.version > current.signed.version).sort((a, b) => a.signed.version - b.signed.version);
  for (const next of newer) {
    if (next.signed.version === root.signed.version) continue; // a duplicate of the one just followed
    const step = verifyRotation(root.signed, next);
    if (!step.ok) return step;
    root = step.root;
  }
  return { ok: true, root };
}
