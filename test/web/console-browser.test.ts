// The operator console in a real browser (Debian's Chromium through playwright-core):
// sign in with a token, open a campaign whose first stage the reference device agents
// finished, approve the second stage, and watch its counts move by the live refresh alone
// while the remaining agents update; then the same pages on a phone-sized screen, with no
// horizontal scrolling. Screenshots go to test-results/. Under CI a missing Chromium fails
// the run; elsewhere the file is skipped with the apt-get line to run. The agents patch
// through the fleet simulator's shared pool (one bspatch for the one base and delta, each
// result still checked against the signed target hash), as in e2e/campaign.test.ts.
import { mkdirSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DeviceAgent } from '../../src/device/agent.ts';
import { SharedImages } from '../../src/device/simulate/images.ts';
import { SharedPatchPool } from '../../src/device/simulate/patches.ts';
import { parseTrust } from '../../src/device/trust.ts';
import { hasTool, tempDirFor } from '../support/harness.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { createToken } from '../../src/tokens/tokens.ts';
import { type Builds, campaignState, createCampaign, DEVICE_PASSWORD, MODEL, registerDevice, uploadBuilds, windowClosedNow } from './console-harness.ts';

const CHROMIUM = '/usr/bin/chromium';
const available = hasTool(CHROMIUM, 'chromium');
const SHOTS = resolve('test-results');
const DEVICES = 10;
/** Generous for a loaded CI machine; each wait ends as soon as the page shows the change. */
const WAIT = { timeout: 20_000 };

describe.skipIf(!available)('operator console in Chromium', () => {
  let server: TestServer;
  let builds: Builds;
  let browser: Browser;
  let desktop: BrowserContext;
  let campaignId: string;
  const agents = new Map<string, DeviceAgent>();
  const cspViolations: string[] = [];
  let pool: SharedPatchPool;

  /** Polls every agent once, all at once, as a fleet checking in would. */
  const pollAll = (ids: Iterable<string>) => Promise.all([...ids].map((id) => agents.get(id)?.runOnce()));

  async function stageOf(): Promise<Array<{ state: string; counts: Record<string, number> }>> {
    return (await campaignState(server, campaignId)).stages;
  }

  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    server = await startTestServer();
    builds = await uploadBuilds(server);
    const dir = tempDirFor('console-browser', afterAll);
    pool = new SharedPatchPool(await SharedImages.open(join(dir, 'images')), { concurrency: 2 });
    const image = join(dir, 'v1.bin');
    await writeFile(image, builds.v1.image);
    const trust = parseTrust(await (await server.api('/api/v1/manufacturers/acme/keys', { token: server.tokens.operator })).text(), 'served keys');
    for (let i = 1; i <= DEVICES; i++) {
      const id = `WEB-${String(i).padStart(2, '0')}`;
      await registerDevice(server, id);
      agents.set(id, await DeviceAgent.open({ serverUrl: server.url, devId: id, model: MODEL, username: id, password: DEVICE_PASSWORD, dataDir: join(dir, id), image, version: '1.0', trust, pool, download: { retryDelayMs: 20 } }));
    }
    campaignId = await createCampaign(server, {
      name: 'Spring rollout <2.0>',
      buildId: builds.v2.id,
      stages: [
        { percent: 30, requiresApproval: false },
        { percent: 100, requiresApproval: true },
      ],
    });
    const started = await server.api(`/api/v1/campaigns/${campaignId}/start`, { method: 'POST', token: server.tokens.operator });
    expect(started.status).toBe(200);
    // Stage 1 (3 of 10 devices) updates; then stage 2 waits for an operator.
    for (let round = 0; round < 5 && (await stageOf())[1]?.state !== 'awaitingApproval'; round++) await pollAll(agents.keys());
    const stages = await stageOf();
    expect(stages.map((s) => s.state)).toEqual(['done', 'awaitingApproval']);
    expect(stages[0]?.counts.succeeded).toBe(3);

    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-background-networking'] });
    desktop = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  });

  afterAll(async () => {
    await browser?.close();
  });

  function watch(page: Page): Page {
    page.on('console', (message) => {
      if (/Content Security Policy|Refused to/i.test(message.text())) cspViolations.push(message.text());
    });
    return page;
  }

  const text = (page: Page, testid: string) => page.locator(`[data-testid="${testid}"]`).first().innerText();
  /**
   * Waits until the element shows exactly `want`: Playwright's locator polling, no sleeps.
   * (waitForFunction with a string would need eval, which the console's CSP forbids.) The
   * whole text of the element, links inside it included (a count is a link to its devices):
   * `:text-is` would match only the innermost element holding the text.
   */
  const showsText = (page: Page, testid: string, want: string) =>
    page
      .locator(`[data-testid="${testid}"]`)
      .filter({ hasText: new RegExp(`^${want.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`) })
      .first()
      .waitFor(WAIT);
  const shot = (page: Page, name: string) => page.screenshot({ path: join(SHOTS, name), fullPage: true });

  it('signs in with a token, approves the next stage and shows the counts move without a reload', async () => {
    const page = watch(await desktop.newPage());
    await page.goto(`${server.url}/campaigns/${campaignId}`);
    // Not signed in: the login page, which brings us back afterwards.
    expect(new URL(page.url()).pathname).toBe('/login');
    await page.locator('[data-testid="login-token"]').fill(server.tokens.operator);
    await shot(page, 'console-login.png');
    await page.locator('[data-testid="login-submit"]').click();
    await page.waitForURL(`**/campaigns/${campaignId}`);
    expect(await text(page, 'signed-in')).toBe('ops (operator)');
    expect(await text(page, 'campaign-name')).toBe('Spring rollout <2.0>');

    // The session cookie is not readable by scripts. (Page-side expressions are strings:
    // this project's TypeScript knows Node, not the DOM.)
    expect(await page.evaluate<string>('document.cookie')).toBe('');
    const [cookie] = await desktop.cookies();
    expect(cookie).toMatchObject({ name: 'fota_console', httpOnly: true, sameSite: 'Strict', expires: -1 });

    expect(await text(page, 'stage-1-state')).toBe('done');
    expect(await text(page, 'stage-1-succeeded')).toBe('3');
    expect(await text(page, 'stage-2-state')).toBe('awaiting approval');
    expect(await text(page, 'stage-2-pending')).toBe('7');
    await shot(page, 'console-awaiting-approval.png');

    await page.locator('[data-testid="action-approve"]').click();
    await page.waitForURL(`**/campaigns/${campaignId}?done=approve`);
    expect(await text(page, 'flash')).toBe('Stage approved: it is starting.');
    expect(await text(page, 'stage-2-state')).toBe('running');
    expect(await page.locator('[data-testid="action-approve"]').count()).toBe(0);
    expect(await text(page, 'stage-2-succeeded')).toBe('0');
    await shot(page, 'console-stage-2-running.png');

    // From here on the page must change by itself: a marker on window would not survive a reload.
    await page.evaluate("window.consoleTestMarker = 'still here'");
    // Stage 1's devices poll too and get nothing: the fleet does not know its stages.
    for (let round = 0; round < 5 && (await stageOf())[1]?.counts.succeeded !== 7; round++) await pollAll(agents.keys());
    await showsText(page, 'stage-2-succeeded', '7');
    await showsText(page, 'campaign-state', 'completed');
    expect(await page.evaluate<string>('window.consoleTestMarker')).toBe('still here');
    expect(await text(page, 'total-succeeded')).toBe('10');
    expect(await text(page, 'stage-2-state')).toBe('done');
    expect(await page.locator('[data-testid="actions"]').count()).toBe(0);
    expect(await page.locator('[data-testid="stage-2-bar"] rect[data-segment="succeeded"]').getAttribute('data-count')).toBe('7');
    await shot(page, 'console-completed.png');

    // A device page: the inventory the agent reported and its deployment's history.
    await page.goto(`${server.url}/devices/WEB-01`);
    expect(await text(page, 'device-firmware')).toBe('2.0');
    await page.locator('[data-testid="inventory"]').waitFor();
    expect(await page.locator('[data-testid="deployments"] article').count()).toBe(1);
    await shot(page, 'console-device.png');
    await page.close();
    expect(cspViolations).toEqual([]);
  });

  it('tells the truth about a waiting campaign: no Approve for its creator, a closed window named with its opening, a pause drawn as a pause', async () => {
    const ids = ['WEB-11', 'WEB-12'];
    for (const id of ids) await registerDevice(server, id);
    const closed = windowClosedNow(server.clock.now());
    const id = await createCampaign(server, {
      name: 'Night window',
      buildId: builds.v2.id,
      deviceIds: ids,
      fourEyes: true,
      maintenanceWindow: closed.window,
      stages: [
        { percent: 50, requiresApproval: true },
        { percent: 100, requiresApproval: false },
      ],
    });
    expect((await server.api(`/api/v1/campaigns/${id}/start`, { method: 'POST', token: server.tokens.operator })).status).toBe(200);

    // Signed in as ops, who created it: four eyes would refuse ops, so there is no button to press.
    const page = watch(await desktop.newPage());
    await page.goto(`${server.url}/campaigns/${id}`);
    expect(await text(page, 'stage-1-state')).toBe('awaiting approval');
    expect(await text(page, 'awaiting-approval')).toBe('Stage 1 is awaiting approval by someone other than ops. You (ops) created this campaign, so you cannot approve it.');
    expect(await page.locator('[data-testid="action-approve"]').count()).toBe(0);
    expect(await page.locator('[data-testid="action-pause"]').count()).toBe(1);
    await shot(page, 'console-four-eyes-creator.png');
    await page.goto(`${server.url}/`);
    expect(await text(page, `campaign-state-${id}`)).toBe('stage 1 awaiting approval by someone other than ops');

    // Someone else approves: the stage is running but its window is closed, and the page says so.
    const second = (await createToken(server.ctx, 'test', { role: 'operator', name: 'second operator' })).token;
    expect((await server.api(`/api/v1/campaigns/${id}/approve`, { method: 'POST', token: second })).status).toBe(200);
    await page.goto(`${server.url}/campaigns/${id}`);
    const waiting = `waiting for window (opens ${closed.opensLocal})`;
    expect(await text(page, 'stage-1-state')).toBe(waiting);
    expect(await page.locator('[data-testid="stage-1-state"]').getAttribute('class')).toContain('s-waiting');
    expect(await text(page, 'window-closed')).toContain(`Stage 1 is ${waiting}: the maintenance window is closed, so no device is commanded until then`);
    expect(await page.locator('[data-testid="stage-1-bar"] rect[data-segment="scheduled"]').getAttribute('data-count')).toBe('1');
    expect(await page.locator('[data-testid="stage-1-bar"] rect[data-segment="inflight"]').count()).toBe(0);
    await shot(page, 'console-window-closed.png');

    // Paused from the page: the stage's badge reads and looks paused, not running.
    await page.locator('[data-testid="reason-pause"]').fill('change freeze');
    await page.locator('[data-testid="action-pause"]').click();
    await page.waitForURL(`**/campaigns/${id}?done=pause`);
    expect(await text(page, 'stage-1-state')).toBe('paused');
    const badge = await page.locator('[data-testid="stage-1-state"]').getAttribute('class');
    expect(badge).toContain('s-paused');
    expect(badge).not.toContain('s-running');
    expect(await page.locator('[data-testid="window-closed"]').count()).toBe(0);
    await shot(page, 'console-paused.png');
    await page.close();
    expect(cspViolations).toEqual([]);
  });

  it('fits a phone screen (390x844) with no horizontal scrolling', async () => {
    const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true, storageState: await desktop.storageState() });
    const page = watch(await phone.newPage());
    for (const [path, name] of [
      [`/campaigns/${campaignId}`, 'console-phone-campaign.png'],
      ['/', 'console-phone-overview.png'],
      [`/builds/${builds.v2.id}`, 'console-phone-build.png'],
      ['/devices', 'console-phone-devices.png'],
      ['/devices/WEB-01', 'console-phone-device.png'],
      ['/campaigns/new', 'console-phone-new-campaign.png'],
      ['/devices/new', 'console-phone-register.png'],
    ] as const) {
      await page.goto(`${server.url}${path}`);
      expect(new URL(page.url()).pathname, path).toBe(path);
      const widths = await page.evaluate<{ scroll: number; view: number }>('({ scroll: document.documentElement.scrollWidth, view: window.innerWidth })');
      expect(widths.scroll, `${path} is wider than the phone`).toBeLessThanOrEqual(widths.view);
      await shot(page, name);
    }
    await phone.close();
    expect(cspViolations).toEqual([]);
  });
});
