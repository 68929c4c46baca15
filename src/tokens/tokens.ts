// API tokens and the roles they carry. A token is shown once; only its SHA-256 is kept,
// so the database never holds a usable credential.
import { createHash, randomBytes } from 'node:crypto';
import type { Context } from '../context.ts';
import { AppError } from '../errors.ts';
import { newId } from '../store/ids.ts';
import { recordAudit } from '../store/queries/audit.ts';
import { findManufacturerById, findManufacturerByName, insertManufacturer } from '../store/queries/manufacturers.ts';
import { findActiveTokenByHash, hasActiveAdmin, insertToken } from '../store/queries/tokens.ts';

export const ROLES = ['admin', 'manufacturer', 'operator'] as const;
export type Role = (typeof ROLES)[number];

/** Who is calling: resolved from a bearer token on every request. */
export interface Principal {
  tokenId: string;
  name: string;
  role: Role;
  manufacturerId: string | null;
  manufacturer: string | null;
}

export const SYSTEM_ACTOR = 'system';

export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

const TOKEN_PREFIX = 'fota_';

function newTokenSecret(): string {
  return `${TOKEN_PREFIX}${randomBytes(32).toString('base64url')}`;
}

/**
 * Whether a run of base64url characters and dots holds something shaped like an API token
 * (the prefix and 16+ characters), even cut short: kept out of logs and error bodies.
 */
export function looksLikeApiToken(run: string): boolean {
  return run.split('.').some((part) => {
    const at = part.indexOf(TOKEN_PREFIX);
    return at !== -1 && part.length - at - TOKEN_PREFIX.length >= 16;
  });
}

export interface NewToken {
  role: Role;
  name: string;
  manufacturer?: string;
}

/** Creates a token; a manufacturer token creates its manufacturer on first use of the name. */
export async function createToken(ctx: Context, actor: string, request: NewToken, secret = newTokenSecret()): Promise<{ id: string; token: string }> {
  if (request.role === 'manufacturer' && !request.manufacturer) {
    throw new AppError('VALIDATION', 'a manufacturer token needs the manufacturer it acts for (manufacturer)');
  }
  if (request.role !== 'manufacturer' && request.manufacturer) {
    throw new AppError('VALIDATION', `an ${request.role} token is not scoped to a manufacturer; leave manufacturer out`);
  }
  const now = ctx.clock.now();
  const id = newId('tok');
  await ctx.db.transaction(async (tx) => {
    const manufacturerId = request.manufacturer
      ? ((await findManufacturerByName(tx, request.manufacturer)) ?? (await insertManufacturer(tx, request.manufacturer, now))).id
      : null;
    await insertToken(tx, { id, name: request.name, role: request.role, manufacturerId, tokenHash: hashToken(secret), createdBy: actor, createdAt: now });
    await recordAudit(tx, { actor, action: 'token.create', subject: id, details: { role: request.role, name: request.name, manufacturer: request.manufacturer ?? null } }, now);
  });
  return { id, token: secret };
}

export async function authenticate(ctx: Context, token: string): Promise<Principal | undefined> {
  const row = await findActiveTokenByHash(ctx.db, hashToken(token));
  if (!row) return undefined;
  const manufacturer = row.manufacturerId ? ((await findManufacturerById(ctx.db, row.manufacturerId))?.name ?? null) : null;
  return { tokenId: row.id, name: row.name, role: row.role, manufacturerId: row.manufacturerId, manufacturer };
}

/**
 * Makes sure an admin can get in: FOTA_ADMIN_TOKEN is registered if set; otherwise, on
 * a first start with no admin token, one is made and returned so it can be printed once.
 */
export async function bootstrapAdmin(ctx: Context): Promise<string | undefined> {
  const configured = ctx.config.adminToken;
  if (configured) {
    if (!(await findActiveTokenByHash(ctx.db, hashToken(configured)))) await createToken(ctx, SYSTEM_ACTOR, { role: 'admin', name: 'FOTA_ADMIN_TOKEN' }, configured);
    return undefined;
  }
  if (await hasActiveAdmin(ctx.db)) return undefined;
  return (await createToken(ctx, SYSTEM_ACTOR, { role: 'admin', name: 'first admin' })).token;
}
