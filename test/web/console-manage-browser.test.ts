// The console as a place to manage the fleet, in a real browser (Debian's Chromium through
// playwright-core): every count and result code on a campaign page clicks through to the
// devices behind it, and the device list filters by anything an operator asks about. The
// fleet is reference device agents: two update, two report FUMO 501 (no room) instead of
// downloading, so the campaign page has a result code to click.
import { mkdirSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DeviceAgent } from '../../src/device/agent.ts';
import { SharedImages } from '../../src/device/simulate/images.ts';
import { SharedPatchPool } from '../../src/device/simulate/patches.ts';
import { parseTrust } from '../../src/device/trust.ts';
import { hasTool, pseudoRandom, tempDirFor } from '../support/harness.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { type Builds, campaignState, createCampaign, DEVICE_PASSWORD, get, login, MODEL, post, uploadBuilds } from './console-harness.ts';

const CHROMIUM = '/usr/bin/chromium';
const available = hasTool(CHROMIUM, 'chromium');
const SHOTS = resolve('test-results');
/** Generous for a loaded machine; each wait ends as soon as the page shows the change. */
const WAIT = { timeout: 20_000 };
const FAILING = new Set(['MGR-03', 'MGR-04']);

describe.skipIf(!available)('managing the fleet from the console in Chromium', () => {
  let server: TestServer;
  let builds: Builds;
  let browser: Browser;
  let desktop: BrowserContext;
  let campaignId: string;
  const cspViolations: string[] = [];

  async function registerTagged(id: string, tags: string[], model = MODEL): Promise<void> {
    const res = await server.api('/api/v1/devices', {
      method: 'POST',
      token: server.tokens.operator,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ id, model, firmwareVersion: '1.0', tags, credentials: { username: id, password: DEVICE_PASSWORD } }),
    });
    expect(res.status, await res.clone().text()).toBe(201);
  }

  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    server = await startTestServer();
    builds = await uploadBuilds(server);
    const dir = tempDirFor('console-manage', afterAll);
    const pool = new SharedPatchPool(await SharedImages.open(join(dir, 'images')), { concurrency: 2 });
    const image = join(dir, 'v1.bin');
    await writeFile(image, builds.v1.image);
    const trust = parseTrust(await (await server.api('/api/v1/manufacturers/acme/keys', { token: server.tokens.operator })).text(), 'served keys');
    const agents: DeviceAgent[] = [];
    for (let i = 1; i <= 4; i++) {
      const id = `MGR-0${i}`;
      await registerTagged(id, i % 2 === 0 ? ['lab', 'eu'] : ['eu']);
      agents.push(
        await DeviceAgent.open({
          serverUrl: server.url, devId: id, model: MODEL, username: id, password: DEVICE_PASSWORD, dataDir: join(dir, id), image, version: '1.0', trust, pool,
          download: { retryDelayMs: 20 },
          ...(FAILING.has(id) ? { failures: { download: 501 } } : {}),
        }),
      );
    }
    // Devices outside the campaign: another model, and one of this model never in it.
    await registerTagged('OTHER-1', ['lab'], 'other-model');
    await registerTagged('SPARE-1', ['lab']);
    campaignId = await createCampaign(server, { name: 'Click-through', buildId: builds.v2.id, deviceIds: ['MGR-01', 'MGR-02', 'MGR-03', 'MGR-04'], stages: [{ percent: 100, requiresApproval: false }] });
    expect((await server.api(`/api/v1/campaigns/${campaignId}/start`, { method: 'POST', token: server.tokens.operator })).status).toBe(200);
    for (let round = 0; round < 5; round++) {
      const counts = (await campaignState(server, campaignId)).stages[0]?.counts;
      if ((counts?.succeeded ?? 0) + (counts?.failed ?? 0) === 4) break;
      await Promise.all(agents.map((a) => a.runOnce()));
    }
    const counts = (await campaignState(server, campaignId)).stages[0]?.counts;
    expect(counts).toMatchObject({ succeeded: 2, failed: 2 });

    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-background-networking'] });
    desktop = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const [name, value] = (await login(server, server.tokens.operator)).split('=');
    await desktop.addCookies([{ name: name ?? '', value: value ?? '', url: server.url, httpOnly: true, sameSite: 'Strict' }]);
  });

  afterAll(async () => {
    await browser?.close();
  });

  async function open(path: string): Promise<Page> {
    const page = await desktop.newPage();
    page.on('console', (message) => {
      if (/Content Security Policy|Refused to/i.test(message.text())) cspViolations.push(message.text());
    });
    await page.goto(`${server.url}${path}`);
    return page;
  }
  const text = (page: Page, testid: string) => page.locator(`[data-testid="${testid}"]`).first().innerText();
  const listed = async (page: Page) => (await page.locator('[data-testid="device-row"] td:first-child').allInnerTexts()).map((s) => s.trim());
  const shot = (page: Page, name: string) => page.screenshot({ path: join(SHOTS, name), fullPage: true });

  it('clicks through from a result code and from a count to exactly the devices behind them', async () => {
    const page = await open(`/campaigns/${campaignId}`);
    expect(await text(page, 'stage-1-failed')).toBe('2');
    await page.locator('[data-testid="stage-1-failures-501"]').click();
    await page.waitForURL('**/devices?**');
    const url = new URL(page.url());
    expect(Object.fromEntries(url.searchParams)).toEqual({ campaign: campaignId, stage: '1', state: 'failed', result: '501' });
    expect(await listed(page)).toEqual(['MGR-03', 'MGR-04']);
    expect(await text(page, 'device-total')).toContain('2 devices');
    await shot(page, 'console-clickthrough-501.png');

    await page.goto(`${server.url}/campaigns/${campaignId}`);
    await page.locator('[data-testid="stage-1-succeeded"] a').click();
    await page.waitForURL('**/devices?**');
    expect(await listed(page)).toEqual(['MGR-01', 'MGR-02']);

    await page.goto(`${server.url}/campaigns/${campaignId}`);
    await page.locator('[data-testid="cohort-size"] a').click();
    await page.waitForURL('**/devices?**');
    expect(await listed(page)).toEqual(['MGR-01', 'MGR-02', 'MGR-03', 'MGR-04']);

    // From the overview's failed column too.
    await page.goto(`${server.url}/`);
    await page.locator(`[data-testid="campaign-row-${campaignId}"] td[data-label="failed"] a`).click();
    await page.waitForURL('**/devices?**');
    expect(await listed(page)).toEqual(['MGR-03', 'MGR-04']);
    await page.close();
    expect(cspViolations).toEqual([]);
  });

  it('filters the device list by model, tag, firmware and last seen, pages through it, and says what it filtered', async () => {
    const page = await open('/devices');
    expect(await listed(page)).toEqual(['MGR-01', 'MGR-02', 'MGR-03', 'MGR-04', 'OTHER-1', 'SPARE-1']);
    await page.locator('[data-testid="filter-tag"]').fill('lab');
    await page.locator('[data-testid="filter-apply"]').click();
    await page.waitForURL('**/devices?**tag=lab**');
    expect(await listed(page)).toEqual(['MGR-02', 'MGR-04', 'OTHER-1', 'SPARE-1']);

    await page.locator('[data-testid="filter-model"]').fill(MODEL);
    await page.locator('[data-testid="filter-apply"]').click();
    await page.waitForURL(`**/devices?**model=${MODEL}**`);
    expect(await listed(page)).toEqual(['MGR-02', 'MGR-04', 'SPARE-1']);
    expect(await text(page, 'device-total')).toBe(`3 devices: model ${MODEL}, tagged lab`);

    // The updated devices run 2.0 now; those that failed and the spare still run 1.0.
    await page.locator('[data-testid="filter-version"]').fill('2.0');
    await page.locator('[data-testid="filter-apply"]').click();
    await page.waitForURL('**/devices?**version=2.0**');
    expect(await listed(page)).toEqual(['MGR-02']);

    // Never seen: the devices no agent ran on.
    await page.goto(`${server.url}/devices?seen=never`);
    expect(await listed(page)).toEqual(['OTHER-1', 'SPARE-1']);
    await page.goto(`${server.url}/devices?seen=day`);
    expect(await listed(page)).toEqual(['MGR-01', 'MGR-02', 'MGR-03', 'MGR-04']);
    await page.close();
    expect(cspViolations).toEqual([]);
  });

  it('creates a campaign with a live cohort count, shows the schema\'s refusal on the form, and starts it', async () => {
    for (const id of ['NEW-1', 'NEW-2', 'NEW-3']) await registerTagged(id, ['fresh']);
    const page = await open('/');
    await page.locator('[data-testid="new-campaign-link"]').click();
    await page.waitForURL('**/campaigns/new');
    await page.selectOption('[data-testid="new-buildId"]', builds.v2.id);
    await page.locator('[data-testid="new-name"]').fill('Fresh devices');
    await page.locator('[data-testid="new-tags"]').fill('fresh');
    const preview = page.locator('[data-testid="cohort-preview"]');
    await page.locator('[data-testid="cohort-preview"][data-devices="3"]').waitFor(WAIT);
    expect(await preview.innerText()).toBe('3 devices match (0 already run the target). By firmware: 1.0: 3.');
    await page.locator('[data-testid="new-deviceIds"]').fill('NEW-1\nNEW-2');
    await page.locator('[data-testid="cohort-preview"][data-devices="2"]').waitFor(WAIT);
    await shot(page, 'console-new-campaign.png');

    // Stages that do not reach 100: the API's own words, and the form keeps what was typed.
    await page.locator('[data-testid="new-s1"]').fill('50');
    await page.locator('[data-testid="new-s2"]').fill('90');
    await page.locator('[data-testid="new-submit"]').click();
    await page.waitForURL('**/campaigns/new');
    expect(await text(page, 'flash')).toBe('stages: the last stage must reach 100 (percent of the cohort, cumulative)');
    expect(await page.locator('[data-testid="new-name"]').inputValue()).toBe('Fresh devices');
    expect(await page.locator('[data-testid="new-deviceIds"]').inputValue()).toBe('NEW-1\nNEW-2');

    await page.locator('[data-testid="new-s2"]').fill('100');
    await page.locator('[data-testid="new-a2"]').uncheck();
    await page.locator('[data-testid="new-submit"]').click();
    await page.waitForURL('**/campaigns/cmp_*?done=create');
    expect(await text(page, 'flash')).toBe('Campaign created as a draft: check its cohort, then start it.');
    expect(await text(page, 'campaign-name')).toBe('Fresh devices');
    expect(await text(page, 'campaign-state')).toBe('draft');
    const id = new URL(page.url()).pathname.split('/')[2] ?? '';
    const stored = (await (await server.api(`/api/v1/campaigns/${id}`, { token: server.tokens.operator })).json()) as Record<string, unknown>;
    expect(stored).toMatchObject({ cohort: { model: MODEL, tags: ['fresh'], deviceIds: ['NEW-1', 'NEW-2'] }, successThreshold: 0.95, failureThreshold: 0.05, minSample: 10 });
    expect(stored.stages).toMatchObject([{ percent: 50, requiresApproval: false }, { percent: 100, requiresApproval: false }]);

    await page.locator('[data-testid="action-start"]').click();
    await page.waitForURL('**?done=start');
    expect(await text(page, 'cohort-size')).toMatch(/^2 /);
    expect(await server.api(`/api/v1/campaigns/${id}/abort`, { method: 'POST', token: server.tokens.operator, headers: { 'content-type': 'application/json' }, body: '{}' }).then((r) => r.status)).toBe(200);
    await page.close();
    expect(cspViolations).toEqual([]);
  });

  it('registers a device, refuses a duplicate with the API\'s words without echoing the password, and edits its tags', async () => {
    const page = await open('/devices');
    await page.locator('[data-testid="register-link"]').click();
    await page.waitForURL('**/devices/new');
    const fill = async (fields: Record<string, string>) => {
      for (const [name, value] of Object.entries(fields)) await page.locator(`[data-testid="register-${name}"]`).fill(value);
    };
    await fill({ id: 'REG-1', model: MODEL, firmwareVersion: '1.0', tags: 'eu, shelf', password: 'short' });
    await page.locator('[data-testid="register-submit"]').click();
    expect(await text(page, 'flash')).toBe('DM password: must be at least 8 characters');
    expect(await page.locator('[data-testid="register-id"]').inputValue()).toBe('REG-1');
    expect(await page.locator('[data-testid="register-password"]').inputValue()).toBe('');
    await fill({ password: 'reg-password-1' });
    await page.locator('[data-testid="register-submit"]').click();
    await page.waitForURL('**/devices/REG-1?done=register');
    expect(await text(page, 'flash')).toBe('Device registered: it can open a DM session now.');
    expect(await text(page, 'device-tags')).toBe('eu, shelf');
    expect(await page.content()).not.toContain('reg-password-1');

    // The same id again: the domain's conflict, on the form.
    await page.goto(`${server.url}/devices/new`);
    await fill({ id: 'REG-1', model: MODEL, password: 'another-password' });
    await page.locator('[data-testid="register-submit"]').click();
    expect(await text(page, 'flash')).toBe('device REG-1 is already registered');
    expect(await page.content()).not.toContain('another-password');

    await page.goto(`${server.url}/devices/REG-1`);
    await page.locator('[data-testid="tags-input"]').fill('eu, lab, eu');
    await page.locator('[data-testid="tags-save"]').click();
    await page.waitForURL('**/devices/REG-1?done=tags');
    expect(await text(page, 'device-tags')).toBe('eu, lab');
    await page.goto(`${server.url}/devices?tag=lab&q=REG`);
    expect(await listed(page)).toEqual(['REG-1']);

    // A device registered in the console talks DM with the password given there.
    const res = await server.api('/api/v1/devices/REG-1', { token: server.tokens.operator });
    expect(await res.json()).toMatchObject({ id: 'REG-1', model: MODEL, firmwareVersion: '1.0', tags: ['eu', 'lab'] });
    await page.close();
    expect(cspViolations).toEqual([]);
  });

  it('shows each campaign\'s and each device\'s activity from the audit log: what, who, why', async () => {
    const id = await createCampaign(server, { name: 'Timeline', buildId: builds.v2.id, deviceIds: ['SPARE-1'], stages: [{ percent: 100, requiresApproval: true }] });
    const page = await open(`/campaigns/${id}`);
    await page.locator('[data-testid="action-start"]').click();
    await page.waitForURL('**?done=start');
    await page.locator('[data-testid="reason-pause"]').fill('waiting for the <b>lab</b> report');
    await page.locator('[data-testid="action-pause"]').click();
    await page.waitForURL('**?done=pause');
    const entries = page.locator('[data-testid="activity-entry"]');
    const lines = (await entries.allInnerTexts()).map((t) => t.replace(/^\S+ \S+ UTC /, ''));
    // Newest first: the pause with its reason, the start, then the creation.
    expect(lines[0]).toMatch(/^campaign\.pause by ops — waiting for the <b>lab<\/b> report/);
    expect(lines.some((l) => l.startsWith('campaign.start by ops'))).toBe(true);
    expect(lines.at(-1)).toMatch(/^campaign\.create by ops/);
    await shot(page, 'console-campaign-activity.png');
    expect((await server.api(`/api/v1/campaigns/${id}/abort`, { method: 'POST', token: server.tokens.operator, headers: { 'content-type': 'application/json' }, body: '{}' })).status).toBe(200);

    // A device: its registration, its tag change (before and after), and its deployment's moves.
    await page.goto(`${server.url}/devices/MGR-03`);
    const device = (await page.locator('[data-testid="activity-entry"]').allInnerTexts()).map((t) => t.replace(/^\S+ \S+ UTC /, ''));
    expect(device.at(-1)).toMatch(/^device\.register by ops/);
    // The server's own parts are named, never shown as a bare code ("dm").
    expect(device.some((l) => /^deployment\.state by fota \(device management\) \(deployment dep_\w+\)\n?.*to: failed/s.test(l))).toBe(true);
    await page.goto(`${server.url}/devices/REG-1`);
    const reg = (await page.locator('[data-testid="activity-entry"]').allInnerTexts()).map((t) => t.replace(/^\S+ \S+ UTC /, ''));
    expect(reg[0]).toMatch(/^device\.tags by ops\n?before: \["eu","shelf"\]; after: \["eu","lab"\]/);
    await page.close();
    expect(cspViolations).toEqual([]);
  });

  it('uploads a build as a manufacturer with the bytes sent shown as they go, and keeps a manufacturer out of the fleet\'s pages', async () => {
    const maker = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await maker.newPage();
    page.on('console', (message) => {
      if (/Content Security Policy|Refused to/i.test(message.text())) cspViolations.push(message.text());
    });
    await page.goto(`${server.url}/login`);
    await page.locator('[data-testid="login-token"]').fill(server.tokens.acme);
    await page.locator('[data-testid="login-submit"]').click();
    await page.waitForURL('**/builds/upload');
    expect(await text(page, 'signed-in')).toBe('acme ci (manufacturer)');
    const image = pseudoRandom(2 * 1024 * 1024, 'console-upload-3.0');
    await page.locator('[data-testid="upload-model"]').fill(MODEL);
    await page.locator('[data-testid="upload-version"]').fill('3.0');
    await page.locator('[data-testid="upload-file"]').setInputFiles({ name: 'image-3.0.bin', mimeType: 'application/octet-stream', buffer: image });
    await page.locator('[data-testid="upload-submit"]').click();
    const status = page.locator('[data-testid="upload-status"][data-build-id]');
    await status.waitFor(WAIT);
    // The progress events counted every byte of the file.
    expect(await status.getAttribute('data-sent')).toBe(String(image.length));
    expect(await page.evaluate<number>("document.getElementById('upload-progress').value")).toBe(image.length);
    const buildId = (await status.getAttribute('data-build-id')) ?? '';
    expect(await status.innerText()).toMatch(new RegExp(`^Uploaded as build ${buildId}: its packages are being made`));
    await shot(page, 'console-upload.png');
    const build = await server.settled(buildId);
    expect(build).toMatchObject({ status: 'ready', model: MODEL, version: '3.0', size: image.length });

    // The same version again: the domain's refusal, on the page.
    await page.locator('[data-testid="upload-submit"]').click();
    await page.locator('[data-testid="upload-status"][data-error="1"]').waitFor(WAIT);
    expect(await text(page, 'upload-status')).toBe(`model ${MODEL} already has a build 3.0`);

    // The fleet is not a manufacturer's to see.
    for (const path of ['/', '/devices', `/campaigns/${campaignId}`, '/campaigns/new']) {
      const res = await page.goto(`${server.url}${path}`);
      expect(res?.status(), path).toBe(403);
      expect(await page.content()).not.toContain('MGR-01');
    }
    await maker.close();
    expect(cspViolations).toEqual([]);
  });

  it('lets an admin create a token shown once and revoke one, which ends its console session at once', async () => {
    const adminContext = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await adminContext.newPage();
    page.on('console', (message) => {
      if (/Content Security Policy|Refused to/i.test(message.text())) cspViolations.push(message.text());
    });
    await page.goto(`${server.url}/login`);
    await page.locator('[data-testid="login-token"]').fill(server.tokens.admin);
    await page.locator('[data-testid="login-submit"]').click();
    await page.waitForURL(`${server.url}/`);
    await page.locator('nav a:text-is("Tokens")').click();
    await page.waitForURL('**/tokens');
    await page.locator('[data-testid="token-name"]').fill('night shift');
    await page.locator('[data-testid="token-create"]').click();
    const token = await text(page, 'new-token');
    expect(token.length).toBeGreaterThan(20);
    const row = page.locator('tr', { hasText: 'night shift' });
    expect(await row.locator('td[data-label="role"]').innerText()).toBe('operator');
    const tokenId = ((await row.getAttribute('data-testid')) ?? '').replace('token-row-', '');
    // The list never shows it again.
    await page.goto(`${server.url}/tokens`);
    expect(await page.content()).not.toContain(token);

    // A manufacturer token needs its manufacturer: the domain's words.
    await page.selectOption('[data-testid="token-role"]', 'manufacturer');
    await page.locator('[data-testid="token-name"]').fill('acme line 2');
    await page.locator('[data-testid="token-create"]').click();
    expect(await text(page, 'flash')).toBe('a manufacturer token needs the manufacturer it acts for (manufacturer)');

    // The new token signs in to the console; revoking it ends that session on the next request.
    const night = await browser.newContext();
    const nightPage = await night.newPage();
    await nightPage.goto(`${server.url}/login`);
    await nightPage.locator('[data-testid="login-token"]').fill(token);
    await nightPage.locator('[data-testid="login-submit"]').click();
    await nightPage.waitForURL(`${server.url}/`);
    expect(await text(nightPage, 'signed-in')).toBe('night shift (operator)');
    page.once('dialog', (dialog) => void dialog.accept());
    await page.locator(`[data-testid="revoke-${tokenId}"]`).click();
    await page.waitForURL('**/tokens?done=revoke');
    expect(await row.locator('td[data-label="revoked"]').innerText()).toMatch(/UTC$/);
    await nightPage.goto(`${server.url}/devices`);
    expect(new URL(nightPage.url()).pathname).toBe('/login');
    expect((await server.api('/api/v1/campaigns', { token })).status).toBe(401);
    await night.close();
    await adminContext.close();
    expect(cspViolations).toEqual([]);
  });

  it('pages through a filter without losing it', async () => {
    for (let i = 1; i <= 55; i++) await registerTagged(`PAGE-${String(i).padStart(3, '0')}`, ['paged']);
    const page = await open('/devices?tag=paged');
    expect(await listed(page)).toHaveLength(50);
    expect(await text(page, 'device-total')).toBe('55 devices: tagged paged');
    await page.locator('[data-testid="next-page"]').click();
    await page.waitForURL('**after=**');
    expect(await listed(page)).toEqual(['PAGE-051', 'PAGE-052', 'PAGE-053', 'PAGE-054', 'PAGE-055']);
    expect(new URL(page.url()).searchParams.get('tag')).toBe('paged');
    await page.selectOption('[data-testid="filter-per"]', '200');
    await page.locator('[data-testid="filter-apply"]').click();
    await page.waitForURL('**per=200**');
    expect(await listed(page)).toHaveLength(55);
    await page.close();
  });

  it('saves a filter under a name for this user only, and opens it again from the device list', async () => {
    const page = await open(`/devices?model=${MODEL}&tag=lab&seen=never`);
    await page.locator('[data-testid="save-filter-name"]').fill('Lab units never seen');
    await page.locator('[data-testid="save-filter-submit"]').click();
    await page.waitForURL('**/devices?**');
    await page.goto(`${server.url}/devices`);
    await page.locator('[data-testid="saved-filter"]:text-is("Lab units never seen")').click();
    await page.waitForURL('**/devices?**');
    // The spare and the device registered by hand (tagged lab since): neither ever connected.
    expect(await listed(page)).toEqual(['REG-1', 'SPARE-1']);
    expect(await text(page, 'device-total')).toBe(`2 devices: model ${MODEL}, tagged lab, seen never`);
    await shot(page, 'console-saved-filter.png');

    // Another user sees none of it and cannot delete it by its id.
    const id = ((await page.locator('[data-testid="saved-filters"] form').first().getAttribute('action')) ?? '').split('/')[3] ?? '';
    expect(id).toMatch(/^flt_/);
    const admin = await login(server, server.tokens.admin);
    expect(await (await get(server, '/devices', admin)).text()).not.toContain('Lab units never seen');
    expect((await post(server, `/devices/filters/${id}/delete`, {}, { cookie: admin })).status).toBe(404);
    expect((await post(server, `/devices/filters/${id}/delete`, {}, { origin: null, cookie: admin })).status).toBe(403);
    await page.goto(`${server.url}/devices`);
    expect(await page.locator('[data-testid="saved-filter"]').allInnerTexts()).toEqual(['Lab units never seen']);

    page.once('dialog', (dialog) => void dialog.accept());
    await page.locator('[data-testid="delete-filter-Lab units never seen"]').click();
    await page.waitForURL(`${server.url}/devices`);
    expect(await page.locator('[data-testid="saved-filter"]').count()).toBe(0);
    await page.close();
    expect(cspViolations).toEqual([]);
  });

  it('refuses a malformed filter with the reason, and a filter is not a way in without a session', async () => {
    const cookie = await login(server, server.tokens.operator);
    const bad = await get(server, '/devices?result=41%270', cookie);
    expect(bad.status).toBe(400);
    expect(await bad.text()).toContain('a result code is a number (e.g. 410) or &quot;timeout&quot;');
    // Creating a campaign: a forged form (no Origin, another site), an admin (read-only) and no session are all refused.
    const fields = { name: 'x', buildId: builds.v2.id, s1: '100' };
    expect((await post(server, '/campaigns/new', fields, { cookie, origin: null })).status).toBe(403);
    expect((await post(server, '/campaigns/new', fields, { cookie, origin: 'https://evil.example' })).status).toBe(403);
    const admin = await login(server, server.tokens.admin);
    const asAdmin = await post(server, '/campaigns/new', fields, { cookie: admin });
    expect(asAdmin.status).toBe(403);
    expect(await asAdmin.text()).toContain('only an operator can create a campaign');
    expect((await post(server, '/campaigns/new', fields)).status).toBe(303);
    expect((await get(server, '/campaigns/preview?tags=fresh')).status).toBe(303);
    const campaigns = ((await (await server.api('/api/v1/campaigns', { token: server.tokens.operator })).json()) as { items: Array<{ name: string }> }).items;
    expect(campaigns.map((c) => c.name)).not.toContain('x');
    // Tags and registration: the same guards.
    expect((await post(server, '/devices/MGR-01/tags', { tags: 'x' }, { cookie, origin: null })).status).toBe(403);
    expect((await post(server, '/devices/MGR-01/tags', { tags: 'x' }, { cookie: admin })).status).toBe(403);
    expect((await post(server, '/devices/new', { id: 'EVIL-1', model: MODEL, password: 'evil-password' }, { cookie: admin })).status).toBe(403);
    expect((await post(server, '/devices/new', { id: 'EVIL-1', model: MODEL, password: 'evil-password' }, { cookie, origin: 'https://evil.example' })).status).toBe(403);
    expect((await server.api('/api/v1/devices/EVIL-1', { token: server.tokens.operator })).status).toBe(404);
    expect(await (await server.api('/api/v1/devices/MGR-01', { token: server.tokens.operator })).json()).toMatchObject({ tags: ['eu'] });
    // Uploading: an operator is not a manufacturer, and the upload must come from this console.
    const upload = (headers: Record<string, string>) => fetch(`${server.url}/builds/upload?model=${MODEL}&version=9.9`, { method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/octet-stream', ...headers }, body: new Uint8Array(1024) });
    const maker = await login(server, server.tokens.acme);
    expect((await upload({ cookie, origin: server.url })).status).toBe(403);
    expect((await upload({ cookie: maker })).status).toBe(403);
    expect((await upload({ cookie: maker, origin: 'https://evil.example' })).status).toBe(403);
    expect((await upload({ origin: server.url })).status).toBe(401);
    expect((await get(server, '/builds/upload', cookie)).status).toBe(403);
    expect(await (await get(server, '/builds', cookie)).text()).not.toContain('9.9');
    // Tokens: admins only, same-origin only; an operator cannot mint one.
    expect((await get(server, '/tokens', cookie)).status).toBe(403);
    expect((await post(server, '/tokens', { name: 'sneaky', role: 'admin' }, { cookie })).status).toBe(403);
    expect((await post(server, '/tokens', { name: 'sneaky', role: 'admin' }, { cookie: admin, origin: null })).status).toBe(403);
    expect((await post(server, '/tokens', { name: 'sneaky', role: 'admin' }, { cookie: maker })).status).toBe(403);
    expect(await (await get(server, '/tokens', admin)).text()).not.toContain('sneaky');
    const anonymous = await get(server, `/devices?campaign=${campaignId}`);
    expect(anonymous.status).toBe(303);
    expect(anonymous.headers.get('location')).toMatch(/^\/login/);
  });
});
