// The server's copy of a manufacturer's offline signing: the roots of offline keys it
// was given, keys it was told to stop trusting, and whether target statements are
// required. Only public keys ever arrive here. A root is registered only if it verifies
// as a device would verify it (version 1 by its own keys, later ones as rotations of the
// latest), so the chain the server ships with packages is one devices can follow.
// Without a root (the embedded quick start) the server's own key vouches for builds.
import type { Context } from '../context.ts';
import { AppError } from '../errors.ts';
import { parseRoot, type Root, type RootEnvelope, verifyInitialRoot, verifyRotation } from '../signing/offline-root.ts';
import { newId } from '../store/ids.ts';
import { type AuditActor, recordAudit } from '../store/queries/audit.ts';
import { findManufacturerById, findManufacturerByName, type ManufacturerRow } from '../store/queries/manufacturers.ts';
import { insertRevocation, insertRoot, latestRootOf, offlinePolicyOf, revokedOfflineKeysOf, rootsOf, saveOfflinePolicy } from '../store/queries/offline-signing.ts';
import type { Tx } from '../store/store.ts';
import type { OfflineSigningView } from './offline-schemas.ts';

/** What the server checks statements against, and ships so devices can follow rotations. */
export interface OfflineTrustOnServer {
  root: Root;
  revoked: Set<string>;
  roots: RootEnvelope[];
  required: boolean;
}

/** The manufacturer's offline trust, or only its policy when no root is registered yet. */
export async function offlineTrustOf(tx: Tx, manufacturerId: string): Promise<{ trust?: OfflineTrustOnServer; required: boolean }> {
  const required = (await offlinePolicyOf(tx, manufacturerId))?.requireOfflineSigning ?? false;
  const rows = await rootsOf(tx, manufacturerId);
  const last = rows.at(-1);
  if (!last) return { required };
  const roots = rows.map((r) => parseRoot(r.envelope, `registered root version ${r.version}`));
  const latest = roots.at(-1) ?? parseRoot(last.envelope);
  return { trust: { root: latest.signed, revoked: await revokedOfflineKeysOf(tx, manufacturerId), roots, required }, required };
}

async function manufacturerNamed(ctx: Context, name: string): Promise<ManufacturerRow> {
  const manufacturer = await findManufacturerByName(ctx.db, name);
  if (!manufacturer) throw new AppError('NOT_FOUND', `no manufacturer named ${name}`);
  return manufacturer;
}

export async function offlineSigningView(ctx: Context, name: string): Promise<OfflineSigningView> {
  const manufacturer = await manufacturerNamed(ctx, name);
  const { trust, required } = await offlineTrustOf(ctx.db, manufacturer.id);
  return {
    manufacturer: name,
    requireOfflineSigning: required,
    mode: trust ? 'offline' : 'server-held',
    rootVersion: trust?.root.version ?? null,
    threshold: trust?.root.threshold ?? null,
    keys: (trust?.root.keys ?? []).map((k) => ({ keyid: k.keyid, publicKey: k.publicKey, status: trust?.revoked.has(k.keyid) ? 'revoked' : 'active' })),
    roots: (trust?.roots ?? []) as unknown as Array<Record<string, unknown>>,
  };
}

/** Registers version 1, or the next version as a rotation signed by the latest's keys. */
export async function registerRoot(ctx: Context, name: string, body: unknown, actor: AuditActor): Promise<OfflineSigningView> {
  const manufacturer = await manufacturerNamed(ctx, name);
  const root = parseRoot(body);
  if (root.signed.manufacturer !== name) throw new AppError('VALIDATION', `the root is for manufacturer ${root.signed.manufacturer}, not ${name}`);
  const now = ctx.clock.now();
  await ctx.db.transaction(async (tx) => {
    // Locked: two rotations sent at once must not both follow the same version.
    await findManufacturerById(tx, manufacturer.id, { forUpdate: true });
    const latest = await latestRootOf(tx, manufacturer.id);
    const verdict = latest ? verifyRotation(parseRoot(latest.envelope).signed, root) : verifyInitialRoot(root);
    if (!verdict.ok) {
      const hint = latest ? ` (the server has version ${latest.version}; sign version ${latest.version + 1} with fota keys root --previous)` : '';
      throw new AppError(latest && root.signed.version <= latest.version ? 'CONFLICT' : 'INTEGRITY', `${verdict.reason}${hint}`);
    }
    await insertRoot(tx, { id: newId('key'), manufacturerId: manufacturer.id, version: root.signed.version, envelope: JSON.stringify(root), createdAt: now });
    await recordAudit(
      tx,
      { ...actor, action: latest ? 'offline-root.rotate' : 'offline-root.register', subject: manufacturer.id, details: { manufacturer: name, version: root.signed.version, threshold: root.signed.threshold, keyids: root.signed.keys.map((k) => k.keyid) } },
      now,
    );
  });
  return offlineSigningView(ctx, name);
}

/** The server stops counting the key at once; devices stop when a rotation drops it. */
export async function revokeOfflineKey(ctx: Context, name: string, keyid: string, actor: AuditActor): Promise<OfflineSigningView> {
  const manufacturer = await manufacturerNamed(ctx, name);
  const now = ctx.clock.now();
  await ctx.db.transaction(async (tx) => {
    const known = (await rootsOf(tx, manufacturer.id)).some((r) => parseRoot(r.envelope).signed.keys.some((k) => k.keyid === keyid));
    if (!known) throw new AppError('NOT_FOUND', `manufacturer ${name} has no offline key ${keyid}`);
    if ((await revokedOfflineKeysOf(tx, manufacturer.id)).has(keyid)) return;
    await insertRevocation(tx, manufacturer.id, keyid, now);
    await recordAudit(tx, { ...actor, action: 'offline-key.revoke', subject: keyid, details: { manufacturer: name } }, now);
  });
  return offlineSigningView(ctx, name);
}

export async function setOfflinePolicy(ctx: Context, name: string, policy: { requireOfflineSigning: boolean }, actor: AuditActor): Promise<OfflineSigningView> {
  const manufacturer = await manufacturerNamed(ctx, name);
  const now = ctx.clock.now();
  await ctx.db.transaction(async (tx) => {
    if (policy.requireOfflineSigning && !(await latestRootOf(tx, manufacturer.id))) {
      throw new AppError('CONFLICT', `manufacturer ${name} has no offline keys yet: register a root first (fota keys root, then fota keys register ROOT.json)`);
    }
    await saveOfflinePolicy(tx, { manufacturerId: manufacturer.id, requireOfflineSigning: policy.requireOfflineSigning, updatedAt: now });
    await recordAudit(tx, { ...actor, action: 'offline-policy.set', subject: manufacturer.id, details: { manufacturer: name, requireOfflineSigning: policy.requireOfflineSigning } }, now);
  });
  return offlineSigningView(ctx, name);
}
