// The helpdesk live query in a real browser (Debian's Chromium through playwright-core):
// an operator ticks presets on the device page and asks; the server wakes the reference
// agent with a Package 0 through its webhook; as the device answers, the results appear in
// the open page (its live refresh, no reload), each with its Status and time read, and a
// node the device lacks says 404. Then a value is fixed from its row and the re-read shows it.
import { mkdirSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DeviceAgent, type SessionTrigger } from '../../src/device/agent.ts';
import { SIMULATED_APPS } from '../../src/device/helpdesk-nodes.ts';
import { WebhookReceiver } from '../../src/device/simulate/webhook.ts';
import { hasTool, pseudoRandom, tempDirFor } from '../support/harness.ts';
import { ALLOW_LOOPBACK_WEBHOOKS, startTestServer, type TestServer } from '../support/server.ts';
import { login } from './console-harness.ts';

const CHROMIUM = '/usr/bin/chromium';
const available = hasTool(CHROMIUM, 'chromium');
const SHOTS = resolve('test-results');
/** Generous for a loaded machine; each wait ends as soon as the page shows the change. */
const WAIT = { timeout: 30_000 };
const ID = 'HELPDESK-BR-1';
const PASSWORD = 'helpdesk-browser-pw';

describe.skipIf(!available)('the device page asks the device now, in Chromium', () => {
  let server: TestServer;
  let receiver: WebhookReceiver;
  let agent: DeviceAgent;
  let browser: Browser;
  let page: Page;
  /** Package 0s received and not yet acted on: the test opens the session when it is ready. */
  const triggers: SessionTrigger[] = [];
  const cspViolations: string[] = [];

  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    const dir = tempDirFor('helpdesk-browser', afterAll);
    server = await startTestServer({}, { env: ALLOW_LOOPBACK_WEBHOOKS });
    receiver = await WebhookReceiver.start({
      onNotify: (deviceId, sessionId) => {
        if (deviceId !== ID) return false;
        triggers.push({ sessionId });
        return true;
      },
    });
    const res = await server.api('/api/v1/devices', {
      method: 'POST',
      token: server.tokens.operator,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ id: ID, model: 'helpdesk-m', firmwareVersion: '1.0', credentials: { username: ID, password: PASSWORD }, webhookUrl: receiver.urlFor(ID) }),
    });
    expect(res.status).toBe(201);
    const image = join(dir, 'v1.bin');
    await writeFile(image, pseudoRandom(4096, 'helpdesk-browser'));
    agent = await DeviceAgent.open({ serverUrl: server.url, devId: ID, model: 'helpdesk-m', username: ID, password: PASSWORD, dataDir: join(dir, ID), image, version: '1.0', trust: { keys: [] }, apps: SIMULATED_APPS });

    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-background-networking'] });
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const [name, value] = (await login(server, server.tokens.operator)).split('=');
    await context.addCookies([{ name: name ?? '', value: value ?? '', url: server.url, httpOnly: true, sameSite: 'Strict' }]);
    page = await context.newPage();
    page.on('console', (message) => {
      if (/Content Security Policy|Refused to/i.test(message.text())) cspViolations.push(message.text());
    });
  });

  afterAll(async () => {
    await browser?.close();
    await receiver?.close();
  });

  const row = (uri: string, source?: string) => page.locator(`[data-testid="query-result"][data-uri="${uri}"]${source ? `[data-source="${source}"]` : ''}`);

  /** Opens the session the last Package 0 asked for (the device "answers the phone"). */
  async function deviceAnswers(): Promise<void> {
    const trigger = triggers.shift();
    expect(trigger, 'a Package 0 reached the device').toBeDefined();
    await agent.runOnce(trigger);
  }

  it('shows the results arriving in the open page, with Status and time read, and a fix made from them', async () => {
    await page.goto(`${server.url}/devices/${ID}`);
    await page.locator('[data-testid="preset-versions"]').check();
    await page.locator('[data-testid="preset-apps"]').check();
    await page.locator('[data-testid="preset-connectivity"]').check();
    await page.locator('[data-testid="preset-log"]').check();
    await page.locator('[data-testid="query-nodes"]').fill('./Vendor/NotThere');
    await page.locator('[data-testid="query-ask"]').click();
    await page.waitForURL('**/devices/HELPDESK-BR-1?query=qry_*');
    await expect.poll(() => page.locator('[data-testid="query"]').getAttribute('data-state'), WAIT).toBe('waiting');
    expect(await page.locator('[data-testid="helpdesk"]').innerText()).toContain('woken by Package 0');
    expect(await row('./DevDetail/FwV').locator('[data-testid="value-text"]').innerText()).toBe('—');
    // Marks this document: were the page to reload, the mark would be gone.
    await page.evaluate("window.helpdeskTestMarker = 'same page'");
    await page.screenshot({ path: join(SHOTS, 'helpdesk-query-waiting.png'), fullPage: true });

    await deviceAnswers();
    await expect.poll(() => page.locator('[data-testid="query"]').getAttribute('data-state'), WAIT).toBe('done');
    expect(await page.evaluate<string>('window.helpdeskTestMarker')).toBe('same page');
    expect(await row('./DevDetail/FwV').locator('[data-testid="value-text"]').innerText()).toBe('1.0');
    expect(await row('./DevDetail/FwV').locator('[data-testid="query-status"]').innerText()).toBe('200 OK');
    expect(await row('./DevDetail/FwV').locator('td').nth(3).innerText()).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC$/);
    expect(await row('./SCOMO/Inventory/Deployed/1/Name').locator('[data-testid="value-text"]').innerText()).toContain('Telemetry agent');
    expect(await row('./DevDetail/Ext/Log').locator('[data-testid="value-text"]').innerText()).toContain('agent started: firmware 1.0');
    expect(await row('./Vendor/NotThere').locator('[data-testid="query-status"]').innerText()).toBe('404 not found');
    await page.screenshot({ path: join(SHOTS, 'helpdesk-query-done.png'), fullPage: true });

    // Fix the APN from its row: a Replace, then the node read again.
    await page.locator('[data-testid="fix-uri"]').selectOption('./ConnMO/cell/APN');
    await page.locator('[data-testid="fix-value"]').fill('iot.plant7.example');
    await page.locator('[data-testid="fix-submit"]').click();
    await page.waitForURL('**done=fix');
    expect(await page.locator('[data-testid="flash"]').innerText()).toContain('Fix queued');
    await deviceAnswers();
    await expect.poll(() => row('./ConnMO/cell/APN', 'fix').last().locator('[data-testid="value-text"]').innerText(), WAIT).toContain('iot.plant7.example');
    expect(await row('./ConnMO/cell/APN', 'fix').first().getAttribute('data-command')).toBe('Replace');
    expect(await row('./ConnMO/cell/APN', 'fix').first().locator('[data-testid="query-status"]').innerText()).toBe('200 OK');
    // The fix is in the device's history, under the operator's name.
    await expect.poll(() => page.locator('[data-testid="activity"]').innerText(), WAIT).toContain('device.fix');
    await page.screenshot({ path: join(SHOTS, 'helpdesk-query-fixed.png'), fullPage: true });
    expect(cspViolations).toEqual([]);
  });
});
