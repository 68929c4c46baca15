// After signing in, the operator lands on the page they asked for: over real HTTP (every
// page of the console, an action whose session ended, a signed-in visit to the login page)
// and in Chromium (the whole round trip through the login form). Only a relative path on
// this console is ever a destination: each open-redirect attempt lands on the overview.
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { safeNext } from '../../src/web/next-page.ts';
import { hasTool } from '../support/harness.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { get, login, post, registerDevice } from './console-harness.ts';

const CHROMIUM = '/usr/bin/chromium';
const available = hasTool(CHROMIUM, 'chromium');
const WAIT = { timeout: 20_000 };

/** Every way we know of to name another site, or a page that is not a console page, as `next`. */
const HOSTILE = [
  'https://evil.example/',
  '//evil.example/',
  '///evil.example/',
  '/\\evil.example',
  '\\\\evil.example',
  '/%2F%2Fevil.example',
  '/%5Cevil.example',
  ' /devices',
  '/devices\n/evil',
  '/devices\t',
  'javascript:alert(1)',
  'http:/evil.example',
  '/devices/../../login',
  '/./devices',
  '/devices#x',
  '/login?next=/devices',
  '/logout',
  '/api/v1/tokens',
  '/metrics',
  '/dm',
  '/devices?q=<script>',
  `/devices/${'a'.repeat(1200)}`,
  'devices',
  '',
];

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer();
  await registerDevice(server, 'RET-001');
});

/** Follows a page without a session to the login form: the `next` it carries. */
async function nextOf(res: Response): Promise<string | null> {
  expect(res.status).toBe(303);
  const location = res.headers.get('location') ?? '';
  expect(location.startsWith('/login?')).toBe(true);
  return new URLSearchParams(location.slice('/login?'.length)).get('next');
}

describe('the page a sign-in returns to', () => {
  it.each(['/', '/tokens', '/devices/RET-001', '/builds', '/devices?tag=lab&model=m+1&state=failed', '/campaigns/new', '/builds/bld_x'])(
    'is %s when that page was asked for without a session, through the form and back',
    async (path) => {
      expect(await nextOf(await get(server, path))).toBe(path);
      const form = await (await get(server, `/login?${new URLSearchParams({ next: path }).toString()}`)).text();
      expect(form).toContain(`name="next" value="${path.replaceAll('&', '&amp;')}"`);
      const token = path === '/tokens' ? server.tokens.admin : server.tokens.operator;
      const signedIn = await post(server, '/login', { token, next: path });
      expect(signedIn.status).toBe(303);
      expect(signedIn.headers.get('location')).toBe(path);
    },
  );

  it('is the page a form was posted from when its session had ended, and one step up the action without a Referer', async () => {
    const fromPage = await fetch(`${server.url}/devices/RET-001/tags`, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: server.url, referer: `${server.url}/devices/RET-001?done=tags` },
      body: 'add=lab',
    });
    expect(await nextOf(fromPage)).toBe('/devices/RET-001?done=tags');
    // Before, any action without a session sent the browser to /campaigns/<its id>, a device's id too.
    expect(await nextOf(await post(server, '/devices/RET-001/tags', { add: 'lab' }))).toBe('/devices/RET-001');
    const foreign = await fetch(`${server.url}/campaigns/cmp_x/pause`, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: server.url, referer: 'https://evil.example/devices' },
      body: 'reason=x',
    });
    expect(await nextOf(foreign)).toBe('/campaigns/cmp_x');
  });

  it('is the asked-for page when someone already signed in opens the login page', async () => {
    const cookie = await login(server, server.tokens.operator);
    expect((await get(server, '/login?next=%2Fdevices%2FRET-001', cookie)).headers.get('location')).toBe('/devices/RET-001');
    expect((await get(server, '/login?next=https%3A%2F%2Fevil.example%2F', cookie)).headers.get('location')).toBe('/');
  });

  it.each(HOSTILE)('never leaves the console: next=%j signs in to the overview', async (next) => {
    expect(safeNext(next)).toBe('/');
    const res = await post(server, '/login', { token: server.tokens.operator, next });
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/');
    const form = await get(server, `/login?${new URLSearchParams({ next }).toString()}`);
    expect(await form.text()).not.toContain('evil.example');
  });

  it('never sends a token-shaped path back (the login page would echo it)', async () => {
    const token = server.tokens.operator;
    expect(safeNext(`/devices?q=${token}`)).toBe('/');
    expect(await nextOf(await get(server, `/devices?q=${encodeURIComponent(token)}`))).toBe('/');
  });
});

describe.skipIf(!available)('signing in from a bookmarked page in Chromium', () => {
  let browser: Browser;
  beforeAll(async () => {
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-background-networking'] });
  });
  afterAll(async () => {
    await browser?.close();
  });

  it('lands on the device page it asked for, and on the overview when a link names another site', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${server.url}/devices/RET-001`);
    await page.locator('[data-testid="login-form"]').waitFor(WAIT);
    await page.fill('[data-testid="login-token"]', server.tokens.operator);
    await page.click('[data-testid="login-submit"]');
    await page.waitForURL(`${server.url}/devices/RET-001`, WAIT);
    expect(await page.locator('main').innerText()).toContain('RET-001');

    // A phishing link: the console's own login page, with a next that names another site.
    const other = await browser.newContext();
    const victim = await other.newPage();
    await victim.goto(`${server.url}/login?next=${encodeURIComponent('//evil.example/devices')}`);
    await victim.fill('[data-testid="login-token"]', server.tokens.operator);
    await victim.click('[data-testid="login-submit"]');
    await victim.waitForURL(`${server.url}/`, WAIT);
    expect(new URL(victim.url()).origin).toBe(server.url);
    await Promise.all([context.close(), other.close()]);
  });
});
