// Where the console sends the browser after signing in: back to the page that asked for a
// session. Only a relative path on this console is accepted, never another site (an open
// redirect turns a link to the console into a link to a phishing page), never the sign-in
// or the API, never a path carrying something token-shaped (the login page echoes it).
import type { Context as HonoContext } from 'hono';
import { carriesSecret } from '../http/redact.ts';

/** The pages a sign-in may return to, by their first path segment ('' is the overview). */
const CONSOLE_PAGES = new Set(['', 'campaigns', 'builds', 'devices', 'tokens', 'apps', 'baselines']);
const MAX_NEXT = 1000;
/** A base no request ever names: a path that resolves anywhere else left this console. */
const BASE = 'http://console.invalid';

/** `next` when it is a page of this console given as a plain relative path, else '/'. */
export function safeNext(next: unknown): string {
  if (typeof next !== 'string' || next.length === 0 || next.length > MAX_NEXT) return '/';
  // "//host" and "/\host" are read by browsers as another site; controls and spaces are never in a path we built.
  if (!next.startsWith('/') || next.startsWith('//') || /[\\\s\p{Cc}#]/u.test(next) || carriesSecret(next)) return '/';
  let url: URL;
  try {
    url = new URL(next, BASE);
  } catch {
    return '/';
  }
  // The path must be what it says, with nothing a URL parser would normalise ("/./", "/../", raw "<").
  if (url.origin !== BASE || url.pathname + url.search !== next) return '/';
  const first = url.pathname.split('/')[1] ?? '';
  return CONSOLE_PAGES.has(first) ? next : '/';
}

/**
 * The page a request without a session came from. A page asked for (GET) is itself; a form
 * posted from a page (an action whose session ended) returns to that page, which the
 * browser names in Referer on this same origin (the console's Referrer-Policy is
 * same-origin); failing that, the page one step up the action's path.
 */
export function pageToReturnTo(c: HonoContext, allowedOrigins: readonly string[]): string {
  const url = new URL(c.req.url);
  if (c.req.method === 'GET') return safeNext(url.pathname + url.search);
  const referer = c.req.header('referer');
  if (referer) {
    try {
      const from = new URL(referer);
      if (allowedOrigins.includes(from.origin)) return safeNext(from.pathname + from.search);
    } catch {
      // An unreadable Referer says nothing: fall back on the action's path.
    }
  }
  return safeNext(url.pathname.split('/').slice(0, -1).join('/') || '/');
}
