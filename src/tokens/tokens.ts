// API tokens, the roles they carry and the people who hold them. A token is shown once;
// only its SHA-256 is kept, so the database never holds a usable credential. Every token
// belongs to a person, and what people do is recorded and shown under the person's name.
import { createHash, randomBytes } from 'node:crypto';
import type { Context } from '../context.ts';
import { AppError } from '../errors.ts';
import { newId } from '../store/ids.ts';
import { recordAudit } from '../store/queries/audit.ts';
import { findManufacturerByName, findOrInsertManufacturer } from '../store/queries/manufacturers.ts';
import { findPersonByLogin, insertPerson } from '../store/queries/people.ts';
import { findActiveTokenByHash, findCaller, hasActiveAdmin, insertToken } from '../store/queries/tokens.ts';
import type { Tx } from '../store/store.ts';

export const ROLES = ['admin', 'manufacturer', 'operator'] as const;
export type Role = (typeof ROLES)[number];

/** Who is calling: resolved from a bearer token on every request. */
export interface Principal {
  tokenId: string;
  /** The token's own name ("laptop", "ci"): for logs, never for deciding who someone is. */
  tokenName: string;
  /** The person holding the token: four eyes and the audit log go by this id. */
  personId: string;
  personLogin: string;
  /** The person's display name: what refusals, the audit log and the console show. */
  name: string;
  role: Role;
  manufacturerId: string | null;
  manufacturer: string | null;
}

export const SYSTEM_ACTOR = 'system';

/** Who did it, as the audit log records it: the person, their name then, and the token used. */
export function auditActor(principal: Principal): { actor: string; actorName: string; tokenId: string } {
  return { actor: principal.personId, actorName: principal.name, tokenId: principal.tokenId };
}

/** Who made a request, for a log line: names a reader knows and ids to search by; never the token itself. */
export function loggableActor(principal: Principal): { person: string; personId: string; tokenName: string; tokenId: string; role: Role } {
  return { person: principal.name, personId: principal.personId, tokenName: principal.tokenName, tokenId: principal.tokenId, role: principal.role };
}

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
  /**
   * The login of the person who will hold it, created on first use. An admin naming nobody
   * gives the token to the person called like the token; anyone else may only create
   * tokens for themselves, with their own role and manufacturer.
   */
  person?: string;
}

/**
 * Creates a token. `by` is the calling principal, or the server's own name for tokens it
 * makes itself (bootstrap, tests). A manufacturer token creates its manufacturer on first
 * use of the name.
 */
export async function createToken(ctx: Context, by: Principal | string, request: NewToken, secret = newTokenSecret()): Promise<{ id: string; token: string; personId: string }> {
  if (request.role === 'manufacturer' && !request.manufacturer) {
    throw new AppError('VALIDATION', 'a manufacturer token needs the manufacturer it acts for (manufacturer)');
  }
  if (request.role !== 'manufacturer' && request.manufacturer) {
    throw new AppError('VALIDATION', `an ${request.role} token is not scoped to a manufacturer; leave manufacturer out`);
  }
  const caller = typeof by === 'string' ? undefined : by;
  const forSelf = caller !== undefined && caller.role !== 'admin';
  if (forSelf) assertOwnToken(caller, request);
  const login = forSelf ? caller.personLogin : (request.person ?? request.name);
  const now = ctx.clock.now();
  const id = newId('tok');
  const personId = await ctx.db.transaction(async (tx) => {
    const manufacturerId = request.manufacturer
      ? ((await findManufacturerByName(tx, request.manufacturer)) ?? (await findOrInsertManufacturer(tx, request.manufacturer, now))).id
      : null;
    const person = forSelf ? { id: caller.personId } : await personFor(tx, login, now, caller);
    await insertToken(tx, { id, name: request.name, personId: person.id, role: request.role, manufacturerId, tokenHash: hashToken(secret), createdBy: typeof by === 'string' ? by : by.personId, createdAt: now });
    const actor = typeof by === 'string' ? { actor: by } : auditActor(by);
    await recordAudit(tx, { ...actor, action: 'token.create', subject: id, details: { role: request.role, name: request.name, manufacturer: request.manufacturer ?? null, personId: person.id, person: login } }, now);
    return person.id;
  });
  return { id, token: secret, personId };
}

/** A token that is not an admin's may only make more tokens like itself: same person, role and manufacturer. */
function assertOwnToken(caller: Principal, request: NewToken): void {
  if (request.person !== undefined && request.person !== caller.personLogin) {
    throw new AppError('FORBIDDEN', `only an admin creates tokens for someone else; this token is ${caller.name}'s`);
  }
  if (request.role !== caller.role) throw new AppError('FORBIDDEN', `a ${caller.role} token can only create ${caller.role} tokens for its own person`);
  if ((request.manufacturer ?? null) !== caller.manufacturer) throw new AppError('FORBIDDEN', 'a manufacturer token can only create tokens for its own manufacturer');
}

function raceLost(login: string): never {
  throw new AppError('CONFLICT', `the person ${login} was being created at the same time; try again`);
}

async function personFor(tx: Tx, login: string, now: number, caller: Principal | undefined): Promise<{ id: string }> {
  const found = await findPersonByLogin(tx, login);
  if (found) return found;
  const person = await insertPerson(tx, { login, displayName: login }, now);
  // Another request created the same person meanwhile: the token joins that person.
  if (!person) return { id: (await findPersonByLogin(tx, login))?.id ?? raceLost(login) };
  const actor = caller ? auditActor(caller) : { actor: SYSTEM_ACTOR };
  await recordAudit(tx, { ...actor, action: 'person.create', subject: person.id, details: { login, displayName: login } }, now);
  return person;
}

export async function authenticate(ctx: Context, token: string): Promise<Principal | undefined> {
  const row = await findCaller(ctx.db, hashToken(token));
  if (!row) return undefined;
  const { token: t, person } = row;
  return { tokenId: t.id, tokenName: t.name, personId: person.id, personLogin: person.login, name: person.displayName, role: t.role, manufacturerId: t.manufacturerId, manufacturer: row.manufacturer };
}

/**
 * Makes sure an admin can get in: FOTA_ADMIN_TOKEN is registered if set; otherwise, on
 * a first start with no admin token, one is made and returned so it can be printed once.
 */
export async function bootstrapAdmin(ctx: Context): Promise<string | undefined> {
  const configured = ctx.config.adminToken;
  if (configured) {
    if (!(await findActiveTokenByHash(ctx.db, hashToken(configured)))) await createToken(ctx, SYSTEM_ACTOR, { role: 'admin', name: 'FOTA_ADMIN_TOKEN', person: 'admin' }, configured);
    return undefined;
  }
  if (await hasActiveAdmin(ctx.db)) return undefined;
  return (await createToken(ctx, SYSTEM_ACTOR, { role: 'admin', name: 'first admin', person: 'admin' })).token;
}
