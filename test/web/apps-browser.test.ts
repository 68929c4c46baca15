// The console's application pages in a real browser (Debian's Chromium through
// playwright-core): a manufacturer uploads an application with its progress shown and an
// operator finds it in the catalogue with the filter form; an operator edits a model's
// baseline in the form and reads the compliance counts, following one to the devices
// behind it; and the device page's applications card shows what a reference agent
// reported over DM, takes an operation, and brings in its result live as the device runs it.
import { mkdirSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DeviceAgent } from '../../src/device/agent.ts';
import { hasTool, nextBuild, pseudoRandom, tempDirFor } from '../support/harness.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { putBaseline, scomoDevice, uploadApp } from './apps-harness.ts';
import { login, post } from './console-harness.ts';

const CHROMIUM = '/usr/bin/chromium';
const available = hasTool(CHROMIUM, 'chromium');
const SHOTS = resolve('test-results');
/** Generous for a loaded machine; each wait ends as soon as the page shows the change. */
const WAIT = { timeout: 30_000 };
const MODEL = 'apps-br';
const maps1 = pseudoRandom(30_000, 'br-maps-1');
const maps2 = nextBuild(maps1, 'br-maps-2');
const chat1 = pseudoRandom(8_000, 'br-chat-1');

describe.skipIf(!available)('application pages in Chromium', () => {
  let server: TestServer;
  let browser: Browser;
  let dir: string;
  const agents: Record<string, DeviceAgent> = {};
  const cspViolations: string[] = [];

  async function pageAs(cookie: string): Promise<{ context: BrowserContext; page: Page }> {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const [name, value] = cookie.split('=');
    await context.addCookies([{ name: name ?? '', value: value ?? '', url: server.url, httpOnly: true, sameSite: 'Strict' }]);
    const page = await context.newPage();
    page.on('console', (message) => {
      if (/Content Security Policy|Refused to/i.test(message.text())) cspViolations.push(message.text());
    });
    return { context, page };
  }

  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    dir = tempDirFor('apps-browser', afterAll);
    server = await startTestServer();
    await uploadApp(server, MODEL, 'com.acme.maps', '1.0', maps1);
    await uploadApp(server, MODEL, 'com.acme.maps', '2.0', maps2);
    await uploadApp(server, MODEL, 'com.acme.chat', '1.0', chat1);
    // An empty baseline: the devices' inventories are read, nothing is changed.
    await putBaseline(server, MODEL, { apps: [], forbidden: [] });
    agents['BR-1'] = await scomoDevice(server, dir, 'BR-1', MODEL, [
      { node: 'maps', component: 'com.acme.maps', version: '1.0', bytes: maps1, name: 'Maps' },
      { node: 'adware', component: 'com.shady.adware', version: '0.9', bytes: pseudoRandom(2_000, 'br-adware') },
    ]);
    agents['BR-2'] = await scomoDevice(server, dir, 'BR-2', MODEL, [
      { node: 'maps', component: 'com.acme.maps', version: '2.0', bytes: maps2 },
      { node: 'chat', component: 'com.acme.chat', version: '1.0', bytes: chat1 },
    ]);
    for (const agent of Object.values(agents)) await agent.runOnce();
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-background-networking'] });
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
  });

  it('a manufacturer uploads an application with its progress; an operator finds it with the filter', async () => {
    const res = await post(server, '/login', { token: server.tokens.acme });
    const { page: maker } = await pageAs((res.headers.getSetCookie()[0] ?? '').split(';')[0] ?? '');
    await maker.goto(`${server.url}/apps/upload`);
    const file = join(dir, 'chat-2.0.bin');
    const chat2 = nextBuild(chat1, 'br-chat-2');
    await writeFile(file, chat2);
    await maker.locator('[data-testid="app-upload-model"]').fill(MODEL);
    await maker.locator('[data-testid="app-upload-component"]').fill('com.acme.chat');
    await maker.locator('[data-testid="app-upload-version"]').fill('2.0');
    await maker.locator('[data-testid="app-upload-file"]').setInputFiles(file);
    await maker.locator('[data-testid="app-upload-submit"]').click();
    const status = maker.locator('[data-testid="app-upload-status"]');
    await expect.poll(() => status.getAttribute('data-app-id'), WAIT).toMatch(/^app_/);
    expect(await status.innerText()).toMatch(/^Uploaded com\.acme\.chat 2\.0 as app_\w+: signed in full and as deltas from 1\.0\.$/);
    expect(await status.getAttribute('data-sent')).toBe(String(chat2.length));
    await maker.screenshot({ path: join(SHOTS, 'apps-upload.png'), fullPage: true });
    const appId = (await status.getAttribute('data-app-id')) ?? '';

    const { page } = await pageAs(await login(server, server.tokens.operator));
    await page.goto(`${server.url}/apps`);
    expect(await page.locator('[data-testid="app-row"]').count()).toBe(4);
    await page.locator('[data-testid="apps-filter-component"]').fill('com.acme.chat');
    await page.locator('[data-testid="apps-filter-apply"]').click();
    await page.waitForURL('**/apps?*component=com.acme.chat*');
    const rows = page.locator('[data-testid="app-row"]');
    expect(await rows.count()).toBe(2);
    const fresh = page.locator(`[data-testid="app-row"][data-app-id="${appId}"]`);
    expect(await fresh.getAttribute('data-version')).toBe('2.0');
    expect(await fresh.locator('[data-testid="app-deltas"]').innerText()).toBe('1.0');
    expect(await fresh.locator('[data-testid="app-uploaded"]').innerText()).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC by acme ci$/);
    await page.screenshot({ path: join(SHOTS, 'apps-list.png'), fullPage: true });
    expect(cspViolations).toEqual([]);
  });

  it('an operator edits the baseline and reads the compliance counts, then the devices behind one', async () => {
    const { page } = await pageAs(await login(server, server.tokens.operator));
    await page.goto(`${server.url}/baselines`);
    await page.locator(`[data-testid="baseline-row"][data-model="${MODEL}"] a`).click();
    await page.waitForURL(`**/baselines/${MODEL}`);
    // The empty baseline: every device that reported is compliant.
    expect(await page.locator('[data-testid="compliance-compliant"]').innerText()).toBe('2');
    await page.locator('[data-testid="baseline-component-0"]').fill('com.acme.maps');
    await page.locator('[data-testid="baseline-version-0"]').fill('2.0');
    await page.locator('[data-testid="baseline-rule-0"]').selectOption('required');
    await page.locator('[data-testid="baseline-component-1"]').fill('com.shady.adware');
    await page.locator('[data-testid="baseline-rule-1"]').selectOption('forbidden');
    await page.locator('[data-testid="baseline-save"]').click();
    await page.waitForURL(`**/baselines/${MODEL}?done=saved`);
    expect(await page.locator('[data-testid="flash"]').innerText()).toContain('Baseline saved');
    const count = (cls: string) => page.locator(`[data-testid="compliance-${cls}"]`).innerText();
    expect({ compliant: await count('compliant'), outdated: await count('outdated'), forbidden: await count('forbidden'), missing: await count('missing'), unread: await count('unread') }).toEqual({ compliant: '1', outdated: '1', forbidden: '1', missing: '0', unread: '0' });
    // The saved rows come back in the form, ready for the next edit.
    expect(await page.locator('[data-testid="baseline-component-1"]').inputValue()).toBe('com.shady.adware');
    await page.screenshot({ path: join(SHOTS, 'baseline-edited.png'), fullPage: true });

    await page.locator('[data-testid="compliance-outdated"] a').click();
    await page.waitForURL(`**/baselines/${MODEL}/devices?class=outdated`);
    expect(await page.locator('[data-testid="class-device"] a').allInnerTexts()).toEqual(['BR-1']);
    await page.locator('[data-testid="class-device"] a').click();
    await page.waitForURL('**/devices/BR-1');
    expect(await page.locator('[data-testid="app-drift"]').innerText()).toContain('install com.acme.maps 2.0; remove com.shady.adware');

    // A mistake is refused on the page and the saved baseline stands.
    await page.goto(`${server.url}/baselines/${MODEL}`);
    await page.locator('[data-testid="baseline-version-0"]').fill('9.9');
    await page.locator('[data-testid="baseline-save"]').click();
    expect(await page.locator('[data-testid="flash"]').innerText()).toContain('model apps-br has no application com.acme.maps 9.9');
    await page.goto(`${server.url}/baselines/${MODEL}`);
    expect(await page.locator('[data-testid="baseline-version-0"]').inputValue()).toBe('2.0');
    expect(cspViolations).toEqual([]);
  });

  it("shows the device's applications as reported over DM, takes an operation and brings in its result live", async () => {
    const { page } = await pageAs(await login(server, server.tokens.operator));
    await page.goto(`${server.url}/devices/BR-2`);
    const card = page.locator('[data-testid="device-apps"]');
    expect(await card.locator('[data-testid="apps-read-at"]').innerText()).toMatch(/^Inventory read \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC\.$/);
    const chat = card.locator('[data-testid="installed-app"][data-component="com.acme.chat"]');
    expect(await chat.getAttribute('data-version')).toBe('1.0');
    expect(await chat.getAttribute('data-state')).toBe('active');
    expect(await card.locator('[data-testid="installed-app"]').count()).toBe(2);

    await card.locator('[data-testid="app-deactivate-com.acme.chat"]').click();
    await page.waitForURL('**/devices/BR-2?done=scomo');
    const deployment = page.locator('[data-testid="scomo-deployment"][data-component="com.acme.chat"]');
    expect(await deployment.getAttribute('data-state')).toBe('scheduled');
    expect(await deployment.getAttribute('data-operation')).toBe('deactivate');
    await page.evaluate("window.appsTestMarker = 'same page'");

    // The device calls in and deactivates it; the open page shows the result by itself.
    await agents['BR-2']?.runOnce();
    await expect.poll(() => deployment.getAttribute('data-state'), WAIT).toBe('succeeded');
    expect(await deployment.locator('[data-testid="scomo-result"]').innerText()).toBe('1200 successful');
    await expect.poll(() => chat.getAttribute('data-state'), WAIT).toBe('inactive');
    expect(await page.evaluate<string>('window.appsTestMarker')).toBe('same page');
    await page.screenshot({ path: join(SHOTS, 'device-apps.png'), fullPage: true });
    expect(cspViolations).toEqual([]);
  });

  it('fits a phone screen (390x844) with no horizontal scrolling', async () => {
    const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true });
    const [name, value] = (await login(server, server.tokens.operator)).split('=');
    await phone.addCookies([{ name: name ?? '', value: value ?? '', url: server.url, httpOnly: true, sameSite: 'Strict' }]);
    const page = await phone.newPage();
    for (const [path, shot] of [
      ['/apps', 'apps-phone-list.png'],
      ['/baselines', 'apps-phone-baselines.png'],
      [`/baselines/${MODEL}`, 'apps-phone-baseline.png'],
      [`/baselines/${MODEL}/devices?class=compliant`, 'apps-phone-class.png'],
      ['/devices/BR-1', 'apps-phone-device.png'],
    ] as const) {
      await page.goto(`${server.url}${path}`);
      expect(`${new URL(page.url()).pathname}${new URL(page.url()).search}`, path).toBe(path);
      const widths = await page.evaluate<{ scroll: number; view: number }>('({ scroll: document.documentElement.scrollWidth, view: window.innerWidth })');
      expect(widths.scroll, `${path} is wider than the phone`).toBeLessThanOrEqual(widths.view);
      await page.screenshot({ path: join(SHOTS, shot), fullPage: true });
    }
    await phone.close();
  });
});
