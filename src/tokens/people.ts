// People: an admin names them, gives them tokens and lists them with their tokens.
import type { Context } from '../context.ts';
import { AppError } from '../errors.ts';
import { recordAudit } from '../store/queries/audit.ts';
import { insertPerson, listPeople, type PersonRow, tokensOfPeople } from '../store/queries/people.ts';
import type { PersonView } from './schemas.ts';
import { auditActor, type Principal } from './tokens.ts';

export async function createPerson(ctx: Context, by: Principal, request: { login: string; displayName?: string }): Promise<PersonView> {
  const now = ctx.clock.now();
  const person = await ctx.db.transaction(async (tx) => {
    const row = await insertPerson(tx, { login: request.login, displayName: request.displayName ?? request.login }, now);
    if (!row) throw new AppError('CONFLICT', `there is already a person with login ${request.login}`);
    await recordAudit(tx, { ...auditActor(by), action: 'person.create', subject: row.id, details: { login: row.login, displayName: row.displayName } }, now);
    return row;
  });
  return { ...personView(person), tokens: [] };
}

/** Every person with their tokens (revoked ones too, so an admin sees the whole history). */
export async function peopleWithTokens(ctx: Context): Promise<PersonView[]> {
  const people = await listPeople(ctx.db);
  const tokens = await tokensOfPeople(
    ctx.db,
    people.map((p) => p.id),
  );
  return people.map((p) => ({
    ...personView(p),
    tokens: tokens
      .filter((t) => t.personId === p.id)
      .map((t) => ({ id: t.id, name: t.name, role: t.role, manufacturer: t.manufacturer, createdAt: iso(t.createdAt), revokedAt: t.revokedAt === null ? null : iso(t.revokedAt) })),
  }));
}

function personView(p: PersonRow): Omit<PersonView, 'tokens'> {
  return { id: p.id, login: p.login, displayName: p.displayName, createdAt: iso(p.createdAt) };
}

const iso = (ms: number): string => new Date(ms).toISOString();
