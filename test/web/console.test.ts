// The operator console over real HTTP, without a browser: sign-in and its cookie, who may
// look and who may act, the origin check on every form, campaign actions through the
// domain functions (and their refusals shown on the page), escaping, and each page's
// content, including the <main> fragment the live refresh fetches.
import { beforeAll, describe, expect, it } from 'vitest';
import { alertXml, DmTestClient } from '../support/dm-test-client.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { type Builds, campaignState, createCampaign, DEVICE_PASSWORD, get, login, post, registerDevice, uploadBuilds } from './console-harness.ts';

let server: TestServer;
let builds: Builds;
let operator: string;
let devices = 0;

beforeAll(async () => {
  server = await startTestServer();
  builds = await uploadBuilds(server);
  operator = await login(server, server.tokens.operator);
});

/** New devices on 1.0, so each campaign has its own cohort (a device is in one campaign at a time). */
async function freshDevices(n: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const id = `CON-${String(++devices).padStart(3, '0')}`;
    await registerDevice(server, id);
    ids.push(id);
  }
  return ids;
}

async function newCampaign(name = 'rollout', extra: { fourEyes?: boolean } = {}): Promise<string> {
  return createCampaign(server, { name, buildId: builds.v2.id, deviceIds: await freshDevices(2), ...extra });
}

const html = async (res: Response) => res.text();

describe('sign-in', () => {
  it('shows the login form under a CSP that allows only its own inline style and script', async () => {
    const res = await get(server, '/login');
    expect(res.status).toBe(200);
    const csp = res.headers.get('content-security-policy') ?? '';
    const nonce = /script-src 'nonce-([^']+)'/.exec(csp)?.[1];
    expect(nonce).toBeTruthy();
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toContain('unsafe-inline');
    const body = await html(res);
    expect(body).toContain('<form method="post" action="/login"');
    expect(body).toContain(`<script nonce="${nonce}">`);
    expect(body).toContain(`<style nonce="${nonce}">`);
    expect(res.headers.get('cache-control')).toBe('no-store');
  });

  it('refuses a wrong token with a message and sets no cookie', async () => {
    const res = await post(server, '/login', { token: 'fota_not-a-real-token' });
    expect(res.status).toBe(401);
    expect(res.headers.getSetCookie()).toEqual([]);
    expect(await html(res)).toContain('Unknown or revoked token.');
  });

  it('lets a manufacturer in only to upload builds: the fleet\'s pages refuse them', async () => {
    const res = await post(server, '/login', { token: server.tokens.acme, next: '/devices' });
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/builds/upload');
    const cookie = (res.headers.getSetCookie()[0] ?? '').split(';')[0] ?? '';
    for (const path of ['/', '/devices', '/builds', '/campaigns/new']) {
      const page = await get(server, path, cookie);
      expect(page.status, path).toBe(403);
      expect(await html(page)).toContain('campaigns and devices are for operators');
    }
    expect((await get(server, '/builds/upload', cookie)).status).toBe(200);
  });

  it('signs an operator in with an HttpOnly, SameSite=Strict session cookie that does not hold the token', async () => {
    const res = await post(server, '/login', { token: server.tokens.operator });
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/');
    const [cookie, ...more] = res.headers.getSetCookie();
    expect(more).toEqual([]);
    expect(cookie).toMatch(/^fota_console=[A-Za-z0-9_-]+;/);
    const attributes = (cookie ?? '').split(';').map((a) => a.trim().toLowerCase());
    expect(attributes).toContain('httponly');
    expect(attributes).toContain('samesite=strict');
    expect(attributes).toContain('path=/');
    // A session cookie: it goes when the browser closes.
    expect(attributes.some((a) => a.startsWith('max-age') || a.startsWith('expires'))).toBe(false);
    expect(cookie).not.toContain(server.tokens.operator);
    expect(Buffer.from((cookie ?? '').split(/[=;]/)[1] ?? '', 'base64url').toString('latin1')).not.toContain(server.tokens.operator);
  });

  it('sends the browser back to the page it asked for, and never to another site', async () => {
    for (const next of ['/devices/CON-001', '/devices?q=CON-&after=CON-001', `/campaigns/cmp_x`]) {
      const back = await post(server, '/login', { token: server.tokens.operator, next });
      expect(back.headers.get('location')).toBe(next);
    }
    for (const next of ['//evil.example/', 'https://evil.example/', '/\\evil.example', '/login?x=1', '/devices?q=<x>', '/api/v1/tokens']) {
      const res = await post(server, '/login', { token: server.tokens.operator, next });
      expect(res.headers.get('location'), next).toBe('/');
    }
  });

  it('refuses a sign-in posted from another origin (login CSRF)', async () => {
    const res = await post(server, '/login', { token: server.tokens.operator }, { origin: 'http://evil.example' });
    expect(res.status).toBe(403);
    expect(res.headers.getSetCookie()).toEqual([]);
  });

  it('logs out: the cookie is cleared', async () => {
    const cookie = await login(server, server.tokens.operator);
    const res = await post(server, '/logout', {}, { cookie });
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/login');
    expect(res.headers.getSetCookie().join()).toMatch(/fota_console=;.*Max-Age=0/i);
  });
});

describe('sessions', () => {
  it.each(['/', '/builds', '/devices', '/campaigns/cmp_x', '/builds/bld_x', '/devices/CON-001'])('redirects %s to the login page without a session', async (path) => {
    const res = await get(server, path);
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe(`/login?${new URLSearchParams({ next: path }).toString()}`);
  });

  it('treats a forged or tampered cookie as no session', async () => {
    const value = operator.split('=')[1] ?? '';
    const flipped = `${value.slice(0, 30)}${value[30] === 'A' ? 'B' : 'A'}${value.slice(31)}`;
    for (const cookie of ['fota_console=abc', `fota_console=${flipped}`, `fota_console=${server.tokens.operator}`]) {
      const res = await get(server, '/', cookie);
      expect(res.status, cookie).toBe(303);
    }
  });

  it('answers the live refresh with 401 (not a login page) once the session is gone', async () => {
    const res = await get(server, '/', undefined, { 'x-fragment': '1' });
    expect(res.status).toBe(401);
  });

  it('ends a session after 12 hours, cookie or not', async () => {
    const cookie = await login(server, server.tokens.operator);
    server.clock.advance(12 * 3600 * 1000 + 1000);
    try {
      expect((await get(server, '/', cookie)).status).toBe(303);
    } finally {
      server.clock.advance(-(12 * 3600 * 1000 + 1000));
    }
    expect((await get(server, '/', cookie)).status).toBe(200);
  });

  it('opens nothing in the API: /api/v1 still wants its bearer token', async () => {
    const res = await fetch(`${server.url}/api/v1/campaigns`, { headers: { cookie: operator } });
    expect(res.status).toBe(401);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('UNAUTHORIZED');
  });
});

describe('campaign actions', () => {
  it('lets an operator start, approve, pause (with a reason), resume and abort a campaign', async () => {
    const id = await newCampaign('walk through');
    const act = (action: string, fields: Record<string, string> = {}) => post(server, `/campaigns/${id}/${action}`, fields, { cookie: operator });

    let res = await act('start');
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe(`/campaigns/${id}?done=start`);
    expect((await campaignState(server, id)).stages[0]?.state).toBe('awaitingApproval');
    let page = await html(await get(server, `/campaigns/${id}?done=start`, operator));
    expect(page).toContain('Campaign started.');
    expect(page).toContain('data-testid="action-approve"');
    expect(page).toMatch(/data-testid="stage-1-state">awaiting approval</);

    res = await act('approve');
    expect(res.status).toBe(303);
    const running = await campaignState(server, id);
    expect(running).toMatchObject({ state: 'running', stages: [{ state: 'running', counts: { scheduled: 2 } }] });
    page = await html(await get(server, `/campaigns/${id}`, operator));
    expect(page).not.toContain('data-testid="action-approve"');
    // The count links to the devices behind it.
    expect(page).toMatch(/data-testid="stage-1-scheduled"><a href="\/devices\?campaign=[^"]*&amp;stage=1&amp;state=scheduled">2<\/a></);

    expect((await act('pause', { reason: 'checking <b>logs</b>' })).status).toBe(303);
    expect(await campaignState(server, id)).toMatchObject({ state: 'paused', pausedReason: 'paused by ops: checking <b>logs</b>' });
    page = await html(await get(server, `/campaigns/${id}`, operator));
    expect(page).toContain('data-testid="pause-reason">paused by ops: checking &lt;b&gt;logs&lt;/b&gt;</p>');
    expect(page).toContain('data-testid="action-resume"');
    // The stage itself stays 'running' on the server; what holds is the pause, as the CLI says too.
    expect(page).toMatch(/data-testid="stage-1-state">paused</);

    expect((await act('resume')).status).toBe(303);
    expect((await campaignState(server, id)).state).toBe('running');

    expect((await act('abort', { reason: 'wrong build' })).status).toBe(303);
    expect(await campaignState(server, id)).toMatchObject({ state: 'aborted', stages: [{ counts: { canceled: 2 } }] });
    page = await html(await get(server, `/campaigns/${id}`, operator));
    expect(page).toContain('data-testid="campaign-state">aborted<');
    expect(page).not.toContain('data-testid="actions"');
  });

  it('shows a stage moved on by a resume as an override, with who, when, why and the figures, not as "threshold met"', async () => {
    const ids = await freshDevices(2);
    const id = await createCampaign(server, { name: 'settles short', buildId: builds.v2.id, deviceIds: ids, stages: [{ percent: 100, requiresApproval: false }] });
    expect((await post(server, `/campaigns/${id}/start`, {}, { cookie: operator })).status).toBe(303);
    // Each device is commanded in one session and reports in the next: one succeeds, one fails with 410.
    for (const [i, deviceId] of ids.entries()) {
      const client = new DmTestClient({ url: `${server.url}/dm`, devId: deviceId, username: deviceId, password: DEVICE_PASSWORD, tree: { './DevDetail/FwV': '1.0', './DevDetail/SwV': '1', './DevDetail/HwV': 'A' } });
      await client.session();
      await server.campaigns.idle();
      const device = (await (await server.api(`/api/v1/devices/${deviceId}`, { token: server.tokens.operator })).json()) as { deployments: Array<{ id: string }> };
      const depId = device.deployments[0]?.id ?? '';
      const dep = (await (await server.api(`/api/v1/deployments/${depId}`, { token: server.tokens.operator })).json()) as { attempts: number };
      const code = i === 0 ? 200 : 410;
      if (code === 200) client.tree.set('./DevDetail/FwV', '2.0');
      const item = { source: './FUMO/fota/DownloadAndUpdate', type: 'org.openmobilealliance.dm.firmwareupdate.downloadandupdate', format: 'int', ...(code === 200 ? {} : { mark: 'critical' }), data: String(code) };
      await client.session({ extra: [alertXml('1226', [item], `${depId}.${dep.attempts}`)] });
    }
    expect(await campaignState(server, id)).toMatchObject({ state: 'paused', pausedReason: 'stage 1 finished with 1 of 2 succeeded (50%), below the success threshold 100%' });
    let page = await html(await get(server, `/campaigns/${id}`, operator));
    expect(page).toMatch(/data-testid="pause-reason">stage 1 finished with 1 of 2 succeeded \(50%\), below the success threshold 100% \(figures as of the pause at \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC; the counts shown are live\)</);

    expect((await post(server, `/campaigns/${id}/resume`, { reason: 'one bad unit' }, { cookie: operator })).status).toBe(303);
    expect((await campaignState(server, id)).state).toBe('completed');
    page = await html(await get(server, `/campaigns/${id}`, operator));
    expect(page).toMatch(/data-testid="stage-1-state">done \(moved on by override\)</);
    expect(page).toContain("moved on by an operator&#39;s override");
    expect(page).not.toContain('success threshold met');
    expect(page).toMatch(/override by ops at \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC: moved on short of the success threshold with 1 of 2 succeeded \(50%\): &quot;one bad unit&quot;/);
  });

  it('shows a refused action (409: nothing awaits approval) as a message on the page', async () => {
    const id = await newCampaign('stale button');
    const res = await post(server, `/campaigns/${id}/approve`, {}, { cookie: operator });
    expect(res.status).toBe(409);
    const page = await html(res);
    expect(page).toContain('data-testid="flash"');
    expect(page).toContain(`campaign ${id} has no stage awaiting approval: the campaign is draft`);
    expect(page).toContain('data-testid="campaign-name">stale button<');
    // The live refresh reads the campaign's own page, not the action's URL.
    expect(page).toContain(`data-src="/campaigns/${id}"`);
  });

  it('shows the four-eyes refusal (403) when the creator approves', async () => {
    const id = await newCampaign('four eyes', { fourEyes: true });
    expect((await post(server, `/campaigns/${id}/start`, {}, { cookie: operator })).status).toBe(303);
    // The creator is not offered the button four eyes would refuse, and is told who may approve.
    const page = await html(await get(server, `/campaigns/${id}`, operator));
    expect(page).not.toContain('data-testid="action-approve"');
    expect(page).toContain('Stage 1 is awaiting approval by someone other than ops. You (ops) created this campaign, so you cannot approve it.');
    expect(await html(await get(server, '/', operator))).toContain(`data-testid="campaign-state-${id}">stage 1 awaiting approval by someone other than ops<`);
    // A stale form (or a hand-made request) is still refused by the server.
    const res = await post(server, `/campaigns/${id}/approve`, {}, { cookie: operator });
    expect(res.status).toBe(403);
    expect(await html(res)).toContain('requires four eyes');
    expect((await campaignState(server, id)).stages[0]?.state).toBe('awaitingApproval');
  });

  it.each([
    ['without an Origin header', null],
    ['from another origin', 'http://evil.example'],
    ['from another port of this host', 'http://127.0.0.1:1'],
  ])('refuses an action %s', async (_, origin) => {
    const id = await newCampaign('csrf target');
    const res = await post(server, `/campaigns/${id}/start`, {}, { cookie: operator, origin });
    expect(res.status).toBe(403);
    expect(await html(res)).toContain('did not come from this console');
    expect((await campaignState(server, id)).state).toBe('draft');
  });

  it('refuses a JSON-typed cross-origin action too (the check does not depend on the content type)', async () => {
    const id = await newCampaign('csrf json');
    const res = await fetch(`${server.url}/campaigns/${id}/start`, { method: 'POST', redirect: 'manual', headers: { cookie: operator, origin: 'http://evil.example', 'content-type': 'application/json' }, body: '{}' });
    expect(res.status).toBe(403);
    expect((await campaignState(server, id)).state).toBe('draft');
  });

  it('sends an action without a session to the login page and changes nothing', async () => {
    const id = await newCampaign('no session');
    const res = await post(server, `/campaigns/${id}/start`, {});
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe(`/login?${new URLSearchParams({ next: `/campaigns/${id}` }).toString()}`);
    expect((await campaignState(server, id)).state).toBe('draft');
  });

  it('lets an admin look but not act (403 page)', async () => {
    const admin = await login(server, server.tokens.admin);
    const id = await newCampaign('admin looks');
    const page = await html(await get(server, `/campaigns/${id}`, admin));
    expect(page).toContain('data-testid="read-only"');
    expect(page).not.toContain('data-testid="actions"');
    const res = await post(server, `/campaigns/${id}/start`, {}, { cookie: admin });
    expect(res.status).toBe(403);
    expect(await html(res)).toContain('only an operator can start a campaign');
    expect((await campaignState(server, id)).state).toBe('draft');
  });

  it('refuses a reason over 500 characters with a message', async () => {
    const id = await newCampaign('long reason');
    await post(server, `/campaigns/${id}/start`, {}, { cookie: operator });
    await post(server, `/campaigns/${id}/approve`, {}, { cookie: operator });
    const res = await post(server, `/campaigns/${id}/pause`, { reason: 'x'.repeat(501) }, { cookie: operator });
    expect(res.status).toBe(400);
    expect(await html(res)).toContain('the reason is limited to 500 characters');
    expect((await campaignState(server, id)).state).toBe('running');
  });
});

describe('pages', () => {
  it('escapes what people typed: a campaign named <script>alert(1)</script>', async () => {
    const id = await newCampaign('<script>alert(1)</script>');
    for (const path of ['/', `/campaigns/${id}`]) {
      const page = await html(await get(server, path, operator));
      expect(page).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
      expect(page).not.toContain('<script>alert(1)');
    }
  });

  it('never puts the token in a page', async () => {
    const id = await newCampaign('no token here');
    for (const path of ['/', '/builds', `/builds/${builds.v2.id}`, '/devices', '/devices/CON-001', `/campaigns/${id}`, '/login']) {
      const res = await get(server, path, operator);
      expect(await html(res), path).not.toContain(server.tokens.operator);
    }
  });

  it('gives the live refresh only the <main> content', async () => {
    const id = await newCampaign('fragment');
    const res = await get(server, `/campaigns/${id}`, operator, { 'x-fragment': '1' });
    expect(res.status).toBe(200);
    const body = await html(res);
    expect(body).not.toContain('<html');
    expect(body).not.toContain('<script');
    expect(body).toContain('data-testid="stage-1"');
    expect(res.headers.get('vary')).toContain('x-fragment');
  });

  it('lists campaigns newest first with their state and totals, and recent builds', async () => {
    const older = await newCampaign('older one');
    const newer = await newCampaign('newer one');
    const page = await html(await get(server, '/', operator));
    expect(page.indexOf(`campaign-row-${newer}`)).toBeGreaterThan(-1);
    expect(page.indexOf(`campaign-row-${newer}`)).toBeLessThan(page.indexOf(`campaign-row-${older}`));
    expect(page).toContain('data-testid="recent-builds"');
    expect(page).toContain(`href="/builds/${builds.v2.id}"`);
  });

  it('shows a build’s packages with the saving of each delta against the full package', async () => {
    const page = await html(await get(server, `/builds/${builds.v2.id}`, operator));
    const build = (await (await server.api(`/api/v1/builds/${builds.v2.id}`, { token: server.tokens.operator })).json()) as { packages: Array<{ id: string; kind: string; size: number }> };
    const full = build.packages.find((p) => p.kind === 'full');
    const delta = build.packages.find((p) => p.kind === 'bsdiff40');
    if (!full || !delta) throw new Error('2.0 lacks a delta or a full package');
    const expected = `${(Math.round((1 - delta.size / full.size) * 1000) / 10).toFixed(1)}%`;
    expect(page).toContain(`data-testid="saving-${delta.id}">${expected}<`);
    expect(page).toContain(`data-testid="saving-${full.id}">baseline<`);
    expect(page).toMatch(/<span class="id">1\.0<\/span> → <span class="id">2\.0<\/span>/);
    const list = await html(await get(server, '/builds', operator));
    expect(list).toContain(`build-row-${builds.v2.id}`);
    expect(list).toContain(expected);
  });

  it('lists devices a page at a time and finds them by id prefix', async () => {
    for (let i = 0; i < 55; i++) await registerDevice(server, `LIST-${String(i).padStart(2, '0')}`, { model: 'console-list' });
    await registerDevice(server, 'LIST_X', { model: 'console-list' });
    const first = await html(await get(server, '/devices?q=LIST-', operator));
    expect(first).toContain('55 devices: id starting with “LIST-”');
    expect(first).toContain('LIST-49');
    expect(first).not.toContain('LIST-50');
    expect(first).not.toContain('LIST_X');
    const next = /href="([^"]+)" data-testid="next-page"/.exec(first)?.[1]?.replaceAll('&amp;', '&');
    expect(next).toBe('/devices?q=LIST-&after=LIST-49');
    const second = await html(await get(server, next ?? '', operator));
    expect(second).toContain('LIST-54');
    expect(second).not.toContain('LIST-49<');
    expect(second).not.toContain('data-testid="next-page"');
    // "_" is a character like any other, not a wildcard.
    expect(await html(await get(server, '/devices?q=LIST_', operator))).toContain('1 device: id starting with “LIST_”');
    const bad = await get(server, '/devices?q=%3Cscript%3E', operator);
    expect(bad.status).toBe(400);
    expect(await html(bad)).not.toContain('<script>');
  });

  it('shows a device with its inventory tree, firmware and deployments with their history', async () => {
    const [id] = await freshDevices(1);
    if (!id) throw new Error('no device');
    const client = new DmTestClient({ url: `${server.url}/dm`, devId: id, username: id, password: DEVICE_PASSWORD, tree: { './DevDetail/FwV': '1.0', './DevDetail/SwV': 'sw<1>', './DevDetail/HwV': 'A' } });
    await client.session();
    const created = await server.api('/api/v1/deployments', { method: 'POST', token: server.tokens.operator, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ deviceId: id, buildId: builds.v2.id }) });
    expect(created.status).toBe(201);
    const { id: deploymentId } = (await created.json()) as { id: string };
    const page = await html(await get(server, `/devices/${encodeURIComponent(id)}`, operator));
    expect(page).toContain('data-testid="device-firmware">1.0<');
    expect(page).toContain('<code>DevDetail</code>');
    expect(page).toContain('<code>FwV</code> = <strong>1.0</strong>');
    expect(page).toContain('<strong>sw&lt;1&gt;</strong>');
    expect(page).toContain(`data-testid="deployment-${deploymentId}"`);
    expect(page).toContain('<strong>scheduled</strong> created by ops');
  });

  it('shows an unknown campaign, build or device as a 404 page', async () => {
    for (const path of ['/campaigns/cmp_nope', '/builds/bld_nope', '/devices/NOPE']) {
      const res = await get(server, path, operator);
      expect(res.status, path).toBe(404);
      expect(await html(res)).toContain('data-testid="error-page"');
    }
    const action = await post(server, '/campaigns/cmp_nope/approve', {}, { cookie: operator });
    expect(action.status).toBe(404);
    expect(await html(action)).toContain('no campaign cmp_nope');
  });
});
