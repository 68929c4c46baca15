// The page frame every console page shares: header with navigation and who is signed in,
// the message of the last action, the <main> region the live refresh replaces, and the
// inline style and script under the response's CSP nonce.
import type { Child } from 'hono/jsx';
import { raw } from 'hono/html';
import type { Principal } from '../tokens/tokens.ts';
import { LIVE_SCRIPT, STYLE } from './assets.ts';

export type Section = 'campaigns' | 'builds' | 'devices' | 'upload' | 'tokens' | 'apps' | 'baselines' | 'app-upload';

export interface Flash {
  kind: 'ok' | 'error';
  text: string;
}

export interface LayoutProps {
  title: string;
  nonce: string;
  principal?: Principal | undefined;
  section?: Section | undefined;
  flash?: Flash | undefined;
  /** Whether <main> refreshes itself, and from which URL (default: the page's own). */
  live?: { src?: string } | undefined;
  /** A page's own script (cohort preview, upload progress), under the same nonce. */
  script?: string | undefined;
  children?: Child;
}

const NAV: Array<{ section: Section; href: string; label: string }> = [
  { section: 'campaigns', href: '/', label: 'Campaigns' },
  { section: 'builds', href: '/builds', label: 'Builds' },
  { section: 'devices', href: '/devices', label: 'Devices' },
  { section: 'apps', href: '/apps', label: 'Apps' },
  { section: 'baselines', href: '/baselines', label: 'Baselines' },
];
const TOKENS_NAV: { section: Section; href: string; label: string } = { section: 'tokens', href: '/tokens', label: 'Tokens' };
/** A manufacturer's session only uploads builds and applications. */
const MANUFACTURER_NAV: Array<{ section: Section; href: string; label: string }> = [
  { section: 'upload', href: '/builds/upload', label: 'Upload a build' },
  { section: 'app-upload', href: '/apps/upload', label: 'Upload an app' },
];

export function Layout(props: LayoutProps) {
  return (
    <>
      {raw('<!doctype html>')}
      <html lang="en">
        <head>
          <meta charset="utf-8" />
          <meta name="viewport" content="width=device-width, initial-scale=1" />
          <meta name="referrer" content="same-origin" />
          <title>{`${props.title} · fota console`}</title>
          <link rel="icon" href="data:," />
          <style nonce={props.nonce}>{raw(STYLE)}</style>
        </head>
        <body>
          <header>
            <div class="in">
              <a class="brand" href="/">fota console</a>
              {props.principal ? (
                <nav aria-label="sections">
                  {(props.principal.role === 'manufacturer' ? MANUFACTURER_NAV : props.principal.role === 'admin' ? [...NAV, TOKENS_NAV] : NAV).map((item) => (
                    <a href={item.href} aria-current={props.section === item.section ? 'page' : undefined}>
                      {item.label}
                    </a>
                  ))}
                </nav>
              ) : null}
              {props.principal ? (
                <div class="who">
                  <span id="live" aria-live="off" />
                  <span data-testid="signed-in">
                    {props.principal.name} ({props.principal.role === 'admin' ? 'admin, read-only' : props.principal.role})
                  </span>
                  <form method="post" action="/logout">
                    <button type="submit">Log out</button>
                  </form>
                </div>
              ) : null}
            </div>
          </header>
          <div class="wrap">
            {props.flash ? (
              <p class={props.flash.kind === 'error' ? 'flash error' : 'flash'} role={props.flash.kind === 'error' ? 'alert' : 'status'} data-testid="flash">
                {props.flash.text}
              </p>
            ) : null}
            <main id="main" data-live={props.live ? '1' : undefined} data-src={props.live?.src}>
              {props.children}
            </main>
          </div>
          {/* Also on pages that do not refresh: it asks before an abort, then finds no live <main> and stops. */}
          <script nonce={props.nonce}>{raw(LIVE_SCRIPT)}</script>
          {props.script ? <script nonce={props.nonce}>{raw(props.script)}</script> : null}
        </body>
      </html>
    </>
  );
}
