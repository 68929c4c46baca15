// Creating a campaign from the console with a scheduled start, a mode, a bandwidth budget
// or a forced reason, over real HTTP: the form's fields become the API's request (the
// same schema, the same refusals in its words, naming the field), and the campaign page
// shows each of them. Then the scheduled draft starts by itself when its time comes.
import { beforeAll, describe, expect, it } from 'vitest';
import { startDueCampaigns } from '../../src/campaigns/schedule.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { type Builds, get, login, post, registerDevice, uploadBuilds } from './console-harness.ts';

let server: TestServer;
let builds: Builds;
let cookie: string;

beforeAll(async () => {
  server = await startTestServer();
  builds = await uploadBuilds(server);
  cookie = await login(server, server.tokens.operator);
  for (const id of ['DLV-1', 'DLV-2', 'DLV-3']) await registerDevice(server, id);
});

/** The new-campaign form as a browser posts it: the defaults, and `fields` on top. */
const create = (fields: Record<string, string>) =>
  post(server, '/campaigns/new', { buildId: builds.v2.id, name: 'delivery', s1: '100', success: '95', failure: '5', minSample: '10', soak: '0', ...fields }, { cookie });

const textOf = (html: string, testid: string) => /data-testid="([^"]+)"[^>]*>([^<]*)</g.exec(html.slice(html.indexOf(`data-testid="${testid}"`)))?.[2];

describe('the new campaign form', () => {
  it('offers the start time, the mode, the budget and the forced reason', async () => {
    const html = await (await get(server, '/campaigns/new', cookie)).text();
    for (const name of ['startAt', 'mode', 'bandwidth', 'forcedReason']) expect(html, name).toContain(`data-testid="new-${name}"`);
  });

  it('schedules a two-step campaign with a budget, shows each on its page, and starts it when its time comes', async () => {
    const at = new Date(server.clock.now() + 3_600_000).toISOString().replace('Z', '+00:00');
    const res = await create({ deviceIds: 'DLV-1 DLV-2', startAt: at, mode: 'twoStep', bandwidth: '500000' });
    expect(res.status).toBe(303);
    const location = res.headers.get('location') ?? '';
    const id = /\/campaigns\/([^?]+)/.exec(location)?.[1] ?? '';
    const page = await (await get(server, `/campaigns/${id}`, cookie)).text();
    expect(textOf(page, 'campaign-scheduled')).toContain('(the server starts it then; abort calls it off)');
    expect(textOf(page, 'campaign-mode')).toBe('two-step: download at once, install when the window opens');
    expect(textOf(page, 'campaign-bandwidth')).toBe('488 KiB/s for the whole campaign');
    const view = (await (await server.api(`/api/v1/campaigns/${id}`, { token: server.tokens.operator })).json()) as { state: string; scheduledFor: string; mode: string; bandwidthBytesPerSecond: number };
    expect(view).toMatchObject({ state: 'draft', scheduledFor: new Date(Date.parse(at)).toISOString(), mode: 'twoStep', bandwidthBytesPerSecond: 500_000 });
    server.clock.advance(3_600_001);
    expect(await startDueCampaigns(server.ctx)).toBe(1);
    const started = (await (await server.api(`/api/v1/campaigns/${id}`, { token: server.tokens.operator })).json()) as { state: string; scheduledFor: string | null };
    expect(started).toMatchObject({ state: 'running', scheduledFor: null });
  });

  it('creates a forced campaign with its reason on the page', async () => {
    const res = await create({ deviceIds: 'DLV-3', forcedReason: 'CVE fix, cannot wait for the window' });
    expect(res.status).toBe(303);
    const page = await (await get(server, res.headers.get('location') ?? '', cookie)).text();
    expect(textOf(page, 'campaign-forced')).toBe('devices commanded at any time: CVE fix, cannot wait for the window');
  });

  it.each([
    [{ startAt: 'tomorrow' }, 'start at: '],
    [{ bandwidth: '100' }, 'bandwidth budget: a bandwidth budget below 16 KB/s would stall downloads'],
    [{ bandwidth: 'fast' }, 'bandwidth budget: '],
    [{ mode: 'sideways' }, 'mode: '],
    [{ forcedReason: 'x' }, 'forced (reason): a forced campaign needs a reason (at least 3 characters)'],
    [{ forcedReason: 'urgent fix', tz: 'UTC', wstart: '01:00', wend: '05:00', days: 'mon' }, 'forced: a forced campaign ignores maintenance windows'],
  ])('refuses %j with the schema\'s words, keeping what was typed', async (fields, message) => {
    const res = await create({ deviceIds: 'DLV-1', ...fields });
    expect(res.status).toBe(400);
    const html = await res.text();
    expect(textOf(html, 'flash')).toContain(message);
    // Typed fields come back as typed (a select shows its options, not a value it lacks).
    for (const [name, value] of Object.entries(fields)) if (name !== 'mode' && name !== 'days' && value.length > 3) expect(html).toContain(`value="${value}"`);
  });
});
