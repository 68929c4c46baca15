// How a console response is rendered: a whole page in the layout, or only its <main>
// content for the live refresh, always with a fresh CSP nonce; and the error page.
import type { Context as HonoContext, MiddlewareHandler } from 'hono';
import type { Child } from 'hono/jsx';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { redactSecrets } from '../http/redact.ts';
import type { Principal } from '../tokens/tokens.ts';
import { newNonce, securityHeaders } from './guard.ts';
import { Layout, type LayoutProps } from './layout.tsx';
import { ErrorContent } from './pages.tsx';
import type { ConsoleEnv } from './session.ts';

/** The guards routes.tsx builds once and hands to the routes mounted from other files. */
export interface ConsoleKit {
  viewer: MiddlewareHandler<ConsoleEnv>;
  sameOrigin: MiddlewareHandler<ConsoleEnv>;
  form: MiddlewareHandler<ConsoleEnv>;
  page: (handler: (c: HonoContext<ConsoleEnv>) => Response | Promise<Response>) => (c: HonoContext<ConsoleEnv>) => Promise<Response>;
}


export const isFragment = (c: HonoContext) => c.req.header('x-fragment') === '1';

/**
 * Renders a page, or only its <main> content when the live refresh asks (x-fragment: 1).
 * Each response gets a fresh CSP nonce for its inline style and script.
 */
export function render(c: HonoContext, content: Child, props: Omit<LayoutProps, 'nonce' | 'children'>, status: ContentfulStatusCode = 200) {
  const nonce = newNonce();
  securityHeaders(c, nonce);
  if (isFragment(c) && props.live) return c.html(<>{content}</>, status);
  return c.html(
    <Layout {...props} nonce={nonce}>
      {content}
    </Layout>,
    status,
  );
}

export function errorPage(c: HonoContext, status: ContentfulStatusCode, title: string, message: string, principal?: Principal) {
  // Messages name what was asked for ("no device <id>"); an id may be a pasted token.
  return render(c, <ErrorContent status={status} title={title} message={redactSecrets(message)} />, { title, principal }, status);
}

