// One Ed25519 signing key per manufacturer on the server, created on first need, its
// secret half sealed by the key vault. Rotation retires the old key (still trusted for
// verification, no longer used to sign) until an admin revokes it.
import type { Context } from '../context.ts';
import type { KeyVault } from '../signing/vault.ts';
import { AppError } from '../errors.ts';
import { generateKey, type SigningKey } from '../signing/keys.ts';
import type { PublicKeyView } from './schemas.ts';
import { newId } from '../store/ids.ts';
import { type AuditActor, recordAudit } from '../store/queries/audit.ts';
import {
  activeKeyOf,
  findManufacturerById,
  findManufacturerByName,
  insertSigningKey,
  keysOf,
  type SigningKeyRow,
  setKeyStatus,
} from '../store/queries/manufacturers.ts';
import type { Tx } from '../store/store.ts';

async function addKey(tx: Tx, vault: KeyVault, manufacturerId: string, actor: AuditActor, now: number): Promise<SigningKeyRow> {
  const key = generateKey();
  const { sealed, nonce } = vault.seal(key.secretKey);
  const row: SigningKeyRow = {
    id: newId('key'),
    manufacturerId,
    keyid: key.keyid,
    publicKey: Buffer.from(key.publicKey).toString('base64'),
    sealedSecretKey: sealed,
    nonce,
    status: 'active',
    createdAt: now,
    revokedAt: null,
  };
  await insertSigningKey(tx, row);
  await recordAudit(tx, { ...actor, action: 'key.create', subject: key.keyid, details: { manufacturerId } }, now);
  return row;
}

/** The manufacturer's active signing key, created (and audited) if it has none yet. */
export async function signingKeyFor(ctx: Context, manufacturerId: string, actor: AuditActor): Promise<SigningKey> {
  const row = await ctx.db.transaction(async (tx) => {
    await findManufacturerById(tx, manufacturerId, { forUpdate: true });
    return (await activeKeyOf(tx, manufacturerId)) ?? addKey(tx, ctx.vault, manufacturerId, actor, ctx.clock.now());
  });
  return {
    keyid: row.keyid,
    publicKey: new Uint8Array(Buffer.from(row.publicKey, 'base64')),
    secretKey: ctx.vault.open(row.sealedSecretKey, row.nonce),
  };
}

async function manufacturerNamed(ctx: Context, name: string) {
  const manufacturer = await findManufacturerByName(ctx.db, name);
  if (!manufacturer) throw new AppError('NOT_FOUND', `no manufacturer named ${name}`);
  return manufacturer;
}

export async function publicKeysOf(ctx: Context, name: string): Promise<PublicKeyView[]> {
  return (await keysOf(ctx.db, (await manufacturerNamed(ctx, name)).id)).map((k) => ({
    keyid: k.keyid,
    publicKey: k.publicKey,
    status: k.status,
    createdAt: new Date(k.createdAt).toISOString(),
  }));
}

/** New active key; the previous one stays trusted for verification (retired). */
export async function rotateKey(ctx: Context, name: string, actor: AuditActor): Promise<PublicKeyView[]> {
  const manufacturer = await manufacturerNamed(ctx, name);
  const now = ctx.clock.now();
  await ctx.db.transaction(async (tx) => {
    await findManufacturerById(tx, manufacturer.id, { forUpdate: true });
    const current = await activeKeyOf(tx, manufacturer.id);
    if (current) {
      await setKeyStatus(tx, current.keyid, 'retired', now);
      await recordAudit(tx, { ...actor, action: 'key.retire', subject: current.keyid, details: { manufacturer: name } }, now);
    }
    await addKey(tx, ctx.vault, manufacturer.id, actor, now);
  });
  return publicKeysOf(ctx, name);
}

export async function revokeKey(ctx: Context, name: string, keyid: string, actor: AuditActor): Promise<PublicKeyView[]> {
  const manufacturer = await manufacturerNamed(ctx, name);
  const now = ctx.clock.now();
  await ctx.db.transaction(async (tx) => {
    const key = (await keysOf(tx, manufacturer.id)).find((k) => k.keyid === keyid);
    if (!key) throw new AppError('NOT_FOUND', `manufacturer ${name} has no key ${keyid}`);
    if (key.status === 'revoked') return;
    await setKeyStatus(tx, keyid, 'revoked', now);
    await recordAudit(tx, { ...actor, action: 'key.revoke', subject: keyid, details: { manufacturer: name } }, now);
  });
  return publicKeysOf(ctx, name);
}
