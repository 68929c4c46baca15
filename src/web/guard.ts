// What protects the console's requests besides the session: the same-origin check every
// POST must pass (CSRF), the headers every page carries (a CSP that allows only this
// response's inline style and script, no framing, no caching), and how AppError codes map
// to HTTP statuses on pages.
import { randomBytes } from 'node:crypto';
import type { Context as HonoContext } from 'hono';
import type { Context } from '../context.ts';

/**
 * A state-changing request must carry an Origin header naming this server: the origin the
 * request was addressed to (from its Host), or FOTA_PUBLIC_URL's when a proxy in front
 * terminates TLS. Browsers always send Origin on a form POST, so a request without one is
 * not from our pages. The SameSite=Strict cookie already keeps other sites' requests
 * unauthenticated; this check also covers same-site neighbours and old browsers, and
 * unlike hono/csrf it looks at every content type.
 */
export function isSameOrigin(ctx: Context, c: HonoContext): boolean {
  const origin = c.req.header('origin');
  if (!origin) return false;
  return consoleOrigins(ctx, c).includes(origin);
}

/** The origins this console answers on: the request's own, and the public URL's. */
export function consoleOrigins(ctx: Context, c: HonoContext): string[] {
  const allowed = [new URL(c.req.url).origin];
  if (ctx.config.dm.publicUrl) allowed.push(new URL(ctx.config.dm.publicUrl).origin);
  return allowed;
}

export function newNonce(): string {
  return randomBytes(16).toString('base64');
}

export function securityHeaders(c: HonoContext, nonce: string): void {
  c.header(
    'content-security-policy',
    [
      "default-src 'none'",
      `script-src 'nonce-${nonce}'`,
      `style-src 'nonce-${nonce}'`,
      "img-src 'self' data:",
      "connect-src 'self'",
      "form-action 'self'",
      "frame-ancestors 'none'",
      "base-uri 'none'",
    ].join('; '),
  );
  c.header('x-content-type-options', 'nosniff');
  c.header('x-frame-options', 'DENY');
  c.header('referrer-policy', 'same-origin');
  // Pages show fleet state to a signed-in operator: never from a shared cache or history.
  c.header('cache-control', 'no-store');
  c.header('vary', 'cookie, x-fragment');
}
