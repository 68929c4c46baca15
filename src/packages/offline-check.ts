// The device's check of the manufacturer's offline signatures (formatVersion 2), after
// the delivery signature and before anything else: a device that pins the manufacturer's
// root of offline keys installs only an image that k of those keys vouched for, in a
// statement that has not expired. The server's key can deliver a package; it cannot make
// one installable. Rotations shipped in the package are followed from the pinned root
// first (each signed by the keys before it), so a rotation needs no trust in the server.
// Every refusal is FUMO 404 (signature validation failed): the manufacturer's signature
// over the target is missing, not trusted, expired or for another image.
import { FumoResult } from '../omadm/fumo-results.ts';
import type { TrustPolicy } from '../signing/envelope.ts';
import { followRotations, type RootEnvelope } from '../signing/offline-root.ts';
import { verifyTargetStatement } from '../signing/target-statement.ts';
import type { Manifest } from './manifest.ts';

export type OfflineVerdict = { ok: true; root?: RootEnvelope } | { ok: false; resultCode: typeof FumoResult.SignatureFailed; reason: string };

const refuse = (reason: string): OfflineVerdict => ({ ok: false, resultCode: FumoResult.SignatureFailed, reason });

export function checkOfflineSignatures(manifest: Manifest, trust: TrustPolicy): OfflineVerdict {
  const pinned = trust.offline;
  if (!pinned) return { ok: true };
  const owner = pinned.root.signed.manufacturer;
  if (manifest.formatVersion !== 2 || !manifest.offline) {
    return refuse(`package carries no target statement signed by ${owner}'s offline keys (formatVersion ${manifest.formatVersion}); this device installs only images the manufacturer vouched for`);
  }
  const followed = followRotations(pinned.root, manifest.offline.roots);
  if (!followed.ok) return refuse(`the package's key rotations cannot be followed from the trusted root (version ${pinned.root.signed.version}): ${followed.reason}`);
  const root = followed.root;
  const statement = manifest.offline.target;
  const verdict = verifyTargetStatement(statement, { root: root.signed, now: (pinned.now ?? Date.now)() });
  if (!verdict.ok) return refuse(verdict.reason);
  const s = statement.signed;
  const t = manifest.target;
  if (s.model !== manifest.model || s.version !== t.version || s.sha256 !== t.sha256 || s.size !== t.size || s.securityVersion !== t.securityVersion) {
    return refuse(
      `the manufacturer's statement vouches for ${s.model} ${s.version} (sha256 ${s.sha256.slice(0, 12)}…, security version ${s.securityVersion}), not this package's target ${manifest.model} ${t.version} (sha256 ${t.sha256.slice(0, 12)}…, security version ${t.securityVersion})`,
    );
  }
  return root.signed.version > pinned.root.signed.version ? { ok: true, root } : { ok: true };
}
