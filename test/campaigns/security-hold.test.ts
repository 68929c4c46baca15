// A firmware campaign never sends a build to devices that run a build of higher
// securityVersion (they would refuse it, FUMO 405): its start leaves them out, counts them
// and says why in the campaign's view, the console and `fota campaign status`, and the
// preview counts them before the start; the other devices are updated as usual. The rule
// is the one releases use (a release of such a build is refused outright). A device that
// moves to such a build after the start is not commanded: its deployment ends with the same
// reason and counts with those left out. Real HTTP and
// real DM sessions (the independent test client plays the devices).
import { beforeAll, describe, expect, it } from 'vitest';
import type { Output } from '../../src/cli/io.ts';
import { main } from '../../src/cli/main.ts';
import type { CampaignView } from '../../src/campaigns/schemas.ts';
import { tickCampaigns } from '../../src/campaigns/engine.ts';
import { DmTestClient } from '../support/dm-test-client.ts';
import { nextBuild, pseudoRandom } from '../support/harness.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { login } from '../web/console-harness.ts';

const MODEL = 'sec-hold';
let server: TestServer;
/** Build ids by version: 1.0 (security version 1), 1.5 (2), 2.0 (3). */
const builds: Record<string, string> = {};

const post = (path: string, body: unknown) => server.api(path, { method: 'POST', token: server.tokens.operator, body: JSON.stringify(body), headers: { 'content-type': 'application/json' } });
const view = async (id: string) => (await (await server.api(`/api/v1/campaigns/${id}`, { token: server.tokens.operator })).json()) as CampaignView;

beforeAll(async () => {
  server = await startTestServer();
  let image = pseudoRandom(30_000, 'sec-hold-1.0');
  for (const [version, securityVersion] of [['1.0', 1], ['2.0', 3], ['1.5', 2]] as const) {
    const res = await server.api(`/api/v1/builds?model=${MODEL}&version=${version}&securityVersion=${securityVersion}`, { method: 'POST', token: server.tokens.acme, body: image });
    expect(res.status).toBe(202);
    const built = await server.settled(((await res.json()) as { id: string }).id);
    expect(built.status).toBe('ready');
    builds[version] = built.id;
    image = nextBuild(image, version);
  }
}, 120_000);

let seq = 0;
async function device(tag: string, version: string): Promise<DmTestClient> {
  const id = `sh-${++seq}`;
  expect((await post('/api/v1/devices', { id, model: MODEL, firmwareVersion: version, tags: [tag], credentials: { username: id, password: 'device-password' } })).status).toBe(201);
  return new DmTestClient({ url: `${server.url}/dm`, devId: id, username: id, password: 'device-password', tree: { './DevDetail/FwV': version, './DevDetail/SwV': '1', './DevDetail/HwV': 'A' } });
}

async function commanded(client: DmTestClient): Promise<boolean> {
  client.tree.delete('./FUMO/fota/DownloadAndUpdate/PkgURL');
  await client.session();
  await server.campaigns.idle();
  return client.tree.has('./FUMO/fota/DownloadAndUpdate/PkgURL');
}

describe('a campaign to a build of lower securityVersion than some of its devices run', () => {
  it('counts them in the preview, leaves them out at start with the reason, and updates the others', async () => {
    const older = [await device('mixed', '1.0'), await device('mixed', '1.0')];
    const newer = [await device('mixed', '2.0'), await device('mixed', '2.0'), await device('mixed', '2.0')];
    const preview = await (await server.api(`/api/v1/cohorts/preview?buildId=${builds['1.5']}&tags=mixed`, { token: server.tokens.operator })).json();
    expect(preview).toMatchObject({ devices: 5, alreadyCurrent: 0, securityHeld: 3 });

    const res = await post('/api/v1/campaigns', { name: 'to 1.5', buildId: builds['1.5'], cohort: { tags: ['mixed'] }, stages: [{ percent: 100 }] });
    expect(res.status, await res.clone().text()).toBe(201);
    const { id } = (await res.json()) as { id: string };
    expect((await post(`/api/v1/campaigns/${id}/start`, {})).status).toBe(200);
    await server.campaigns.idle();
    const reason = '3 devices left out: they run 2.0 (security version 3) and would refuse 1.5 (security version 2) as a downgrade; roll forward with a build of security version 3 or higher';
    expect(await view(id)).toMatchObject({ state: 'running', cohortSize: 2, securityHeld: 3, securityHeldReason: reason });
    for (const client of older) expect(await commanded(client)).toBe(true);
    for (const client of newer) expect(await commanded(client)).toBe(false);

    const started = (await (await server.api(`/api/v1/audit?subject=${id}&action=campaign.started`, { token: server.tokens.operator })).json()) as { items: Array<{ details: Record<string, unknown> }> };
    expect(started.items[0]?.details).toMatchObject({ deployments: 2, securityHeld: 3 });

    const cookie = await login(server, server.tokens.operator);
    const page = await (await fetch(`${server.url}/campaigns/${id}`, { headers: { cookie } })).text();
    expect(page).toContain(`data-testid="security-held">${reason}<`);

    let stdout = '';
    const io: Output = { out: (text) => void (stdout += text), err: () => undefined, interactive: false };
    expect(await main(['campaign', 'status', id, '--server', server.url, '--token', server.tokens.operator], io)).toBe(0);
    expect(stdout).toContain(`  ${reason}\n`);
  });

  it('leaves nobody out when every device runs a security version the build meets', async () => {
    await device('level', '1.0');
    const res = await post('/api/v1/campaigns', { name: 'to 2.0', buildId: builds['2.0'], cohort: { tags: ['level'] }, stages: [{ percent: 100 }] });
    const { id } = (await res.json()) as { id: string };
    expect((await post(`/api/v1/campaigns/${id}/start`, {})).status).toBe(200);
    expect(await view(id)).toMatchObject({ cohortSize: 1, securityHeld: 0, securityHeldReason: null });
  });

  it('keeps them out of a dynamic campaign when they come to match later, in a DM session or the periodic scan', async () => {
    await device('dyn', '1.0');
    const res = await post('/api/v1/campaigns', { name: 'dynamic to 1.5', buildId: builds['1.5'], cohort: { tags: ['dyn'] }, stages: [{ percent: 100 }], dynamic: true });
    const { id } = (await res.json()) as { id: string };
    expect((await post(`/api/v1/campaigns/${id}/start`, {})).status).toBe(200);
    const lateNewer = await device('dyn', '2.0');
    const lateOlder = await device('dyn', '1.0');
    // Seen in a session (the join follows it), then the periodic scan: the device on 1.0 joins, the one on 2.0 never does.
    expect(await commanded(lateNewer)).toBe(false);
    await commanded(lateOlder);
    server.clock.advance(10 * server.ctx.config.campaigns.tickMs + 1);
    await tickCampaigns(server.ctx);
    await server.campaigns.idle();
    expect((await view(id)).cohortSize).toBe(2);
    expect(await commanded(lateNewer)).toBe(false);
    const deployments = (await (await server.api(`/api/v1/deployments?campaign=${id}`, { token: server.tokens.operator })).json()) as { items: Array<{ deviceId: string }> };
    expect(deployments.items.map((d) => d.deviceId)).toContain(lateOlder.options.devId);
    expect(deployments.items.map((d) => d.deviceId)).not.toContain(lateNewer.options.devId);
  });

  it('does not command a device that moved to a build of higher securityVersion after the start: its deployment ends with the reason, counted with those left out', async () => {
    const moving = await device('moved', '1.0');
    const staying = await device('moved', '1.0');
    // A cohort by version: the device that moved no longer matches it, and is named all the same.
    const res = await post('/api/v1/campaigns', { name: 'to 1.5, one moves', buildId: builds['1.5'], cohort: { model: MODEL, tags: ['moved'], versions: ['1.0'] }, stages: [{ percent: 100 }] });
    expect(res.status, await res.clone().text()).toBe(201);
    const { id } = (await res.json()) as { id: string };
    expect((await post(`/api/v1/campaigns/${id}/start`, {})).status).toBe(200);
    await server.campaigns.idle();
    expect(await view(id)).toMatchObject({ cohortSize: 2, securityHeld: 0, securityHeldReason: null });

    // Updated by other means to 2.0 (security version 3): it reports that in its next session.
    moving.tree.set('./DevDetail/FwV', '2.0');
    expect(await commanded(moving)).toBe(false);
    expect(await commanded(staying)).toBe(true);
    const campaign = await view(id);
    expect(campaign).toMatchObject({
      securityHeld: 1,
      securityHeldReason: '1 device left out: they run 2.0 (security version 3) and would refuse 1.5 (security version 2) as a downgrade; roll forward with a build of security version 3 or higher',
    });
    expect(campaign.stages[0]?.counts).toMatchObject({ canceled: 1, failed: 0, commanded: 1 });
    const deployments = (await (await server.api(`/api/v1/deployments?campaign=${id}`, { token: server.tokens.operator })).json()) as { items: Array<{ id: string; deviceId: string; state: string }> };
    const ended = deployments.items.find((d) => d.deviceId === moving.options.devId);
    expect(ended?.state).toBe('canceled');
    const detail = (await (await server.api(`/api/v1/deployments/${ended?.id}`, { token: server.tokens.operator })).json()) as { resultCode: number | null; history: Array<{ state: string; cause: string }> };
    expect(detail.resultCode).toBe(null);
    expect(detail.history.at(-1)).toEqual(expect.objectContaining({ state: 'canceled', cause: 'left out: it runs 2.0 (security version 3) and would refuse 1.5 (security version 2) as a downgrade; roll forward with a build of security version 3 or higher' }));
    // Its next sessions command nothing either.
    expect(await commanded(moving)).toBe(false);
    expect((await view(id)).securityHeld).toBe(1);
  });

  it('is the rule releases use: a release of that build to that cohort is refused', async () => {
    await device('rel-mixed', '2.0');
    const res = await post('/api/v1/releases', { buildId: builds['1.5'], cohort: { tags: ['rel-mixed'] } });
    expect(res.status).toBe(409);
    expect(((await res.json()) as { error: { message: string } }).error.message).toContain('devices of this cohort run 2.0 (security version 3), and a device refuses a downgrade');
  });
});
