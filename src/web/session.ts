// Console sessions. The browser keeps one HttpOnly, SameSite=Strict cookie that holds the
// operator's API token sealed (tweetnacl secretbox) under a key derived from the server's
// master key, with a random session id and the time it was issued. Why sealed and not a
// session id in memory: several server processes may share one database (docs/architecture.md); a
// sealed cookie works on every process, and the raw token never sits in the cookie jar.
// Every request opens it and authenticates the token again, so a revoked token ends its
// console sessions at once; a session lasts at most SESSION_MAX_MS, and the cookie has no
// Max-Age, so closing the browser ends it too. Signing out records the session id as
// revoked in the database (the one piece of server state), so a copy of the cookie taken
// before sign-out is refused by every process, while the token's other sessions go on.
//
// Roles: an operator sees everything and acts. An admin may look (read-only): an admin can
// mint an operator token anyway, so looking gives nothing new, while acting stays with
// operators so every approval is recorded under an operator's name. A manufacturer may sign
// in only to upload builds (the upload page and its upload route): every other page shows
// every manufacturer's fleet and campaigns and refuses them.
import type { Context as HonoContext } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import nacl from 'tweetnacl';
import { z } from 'zod';
import type { Context } from '../context.ts';
import { isConsoleSessionRevoked, revokeConsoleSession } from '../store/queries/console-sessions.ts';
import { authenticate, type Principal, type Role } from '../tokens/tokens.ts';

export type ConsoleEnv = { Variables: { principal: Principal; requestId: string } };

export const SESSION_COOKIE = 'fota_console';
/** The longest a console session lasts, whatever the browser does with the cookie. */
export const SESSION_MAX_MS = 12 * 3600 * 1000;
const KEY_PURPOSE = 'console-session';
/** Far more than a sealed token needs; anything longer is not ours. */
const MAX_COOKIE_CHARS = 1024;

/** Clocks of processes that share the key but not the time may disagree by this much. */
const CLOCK_SLACK_MS = 60_000;
const SESSION_ID_BYTES = 16;

// Version 1 cookies carried no session id and could not be revoked: they are refused, and
// their holders sign in again once.
const payloadSchema = z.object({ v: z.literal(2), sid: z.string().regex(/^[A-Za-z0-9_-]{22}$/), token: z.string().min(1).max(512), iat: z.number().int() });
type Session = z.infer<typeof payloadSchema>;

export const canView = (role: Role): boolean => role === 'operator' || role === 'admin';
export const canAct = (role: Role): boolean => role === 'operator';
export const canUpload = (role: Role): boolean => role === 'manufacturer';

export function sealSession(ctx: Context, token: string): string {
  const nonce = nacl.randomBytes(nacl.secretbox.nonceLength);
  const session: Session = { v: 2, sid: Buffer.from(nacl.randomBytes(SESSION_ID_BYTES)).toString('base64url'), token, iat: ctx.clock.now() };
  const box = nacl.secretbox(new TextEncoder().encode(JSON.stringify(session)), nonce, ctx.vault.deriveKey(KEY_PURPOSE));
  return Buffer.concat([nonce, box]).toString('base64url');
}

/** The principal behind a session cookie; undefined when it is forged, expired, signed out, or its token revoked. */
export async function openSession(ctx: Context, value: string | undefined): Promise<Principal | undefined> {
  const session = unseal(ctx, value);
  if (!session || (await isConsoleSessionRevoked(ctx.db, session.sid))) return undefined;
  return authenticate(ctx, session.token);
}

/** The session sealed in a cookie, if the seal is ours and the session has not expired. */
function unseal(ctx: Context, value: string | undefined): Session | undefined {
  if (!value || value.length > MAX_COOKIE_CHARS || !/^[A-Za-z0-9_-]+$/.test(value)) return undefined;
  const bytes = new Uint8Array(Buffer.from(value, 'base64url'));
  if (bytes.length <= nacl.secretbox.nonceLength + nacl.secretbox.overheadLength) return undefined;
  const opened = nacl.secretbox.open(bytes.subarray(nacl.secretbox.nonceLength), bytes.subarray(0, nacl.secretbox.nonceLength), ctx.vault.deriveKey(KEY_PURPOSE));
  if (!opened) return undefined;
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder().decode(opened));
  } catch {
    return undefined;
  }
  const parsed = payloadSchema.safeParse(json);
  if (!parsed.success) return undefined;
  const age = ctx.clock.now() - parsed.data.iat;
  if (age > SESSION_MAX_MS || age < -CLOCK_SLACK_MS) return undefined;
  return parsed.data;
}

export async function sessionOf(ctx: Context, c: HonoContext): Promise<Principal | undefined> {
  return openSession(ctx, getCookie(c, SESSION_COOKIE));
}

/** Secure only over HTTPS: a plain-HTTP console (a laptop, a lab) must still keep its cookie. */
function isHttps(ctx: Context, c: HonoContext): boolean {
  return new URL(c.req.url).protocol === 'https:' || (ctx.config.dm.publicUrl?.startsWith('https:') ?? false);
}

export function startSession(ctx: Context, c: HonoContext, token: string): void {
  // No maxAge or expires: a session cookie, gone when the browser closes.
  setCookie(c, SESSION_COOKIE, sealSession(ctx, token), { path: '/', httpOnly: true, sameSite: 'Strict', secure: isHttps(ctx, c) });
}

/**
 * Signs out: the session is revoked for every process, then the cookie cleared. Only an
 * authentic, unexpired cookie adds a row (kept until the session would have expired, with
 * slack for a process whose clock is behind), so nothing unauthenticated grows the table.
 */
export async function endSession(ctx: Context, c: HonoContext): Promise<void> {
  const session = unseal(ctx, getCookie(c, SESSION_COOKIE));
  if (session) {
    const now = ctx.clock.now();
    await ctx.db.transaction((tx) => revokeConsoleSession(tx, session.sid, session.iat + SESSION_MAX_MS + CLOCK_SLACK_MS, now));
  }
  clearSessionCookie(ctx, c);
}

/** Drops a cookie that no longer opens a session (nothing to revoke). */
export function clearSessionCookie(ctx: Context, c: HonoContext): void {
  deleteCookie(c, SESSION_COOKIE, { path: '/', httpOnly: true, sameSite: 'Strict', secure: isHttps(ctx, c) });
}
