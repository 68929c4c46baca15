// The campaign loop behind the context's signals, with real DM sessions: a device's DM
// request only records and signals, and the engine evaluates after the request returned;
// a listener that throws is logged and the DM request does not notice; a device seen in a
// DM session joins a running dynamic campaign it matches at once, without waiting for the
// cohort scan (the tick is an hour here, so neither the tick nor the scan runs).
import { beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import type { CampaignView } from '../../src/campaigns/schemas.ts';
import { handleDmMessage } from '../../src/dm/session/handle.ts';
import { findCampaign } from '../../src/store/queries/campaigns.ts';
import { alertXml, type DmClientOptions, DmTestClient } from '../support/dm-test-client.ts';
import { nextBuild, pseudoRandom } from '../support/harness.ts';
import { capturedLog, startTestServer, type TestServer } from '../support/server.ts';
import { selectRow } from '../support/sql.ts';

const MODEL = 'loop-router';
const XML = 'application/vnd.syncml.dm+xml';
const captured = capturedLog();
let server: TestServer;
let target: string;

beforeAll(async () => {
  server = await startTestServer({}, { env: { FOTA_CAMPAIGN_TICK_MS: String(3_600_000) }, log: captured.log });
  const v1 = pseudoRandom(50_000, 'loop-v1');
  for (const [version, image] of [['1.0', v1], ['2.0', nextBuild(v1)]] as const) {
    const build = await server.upload(MODEL, version, image);
    expect(build.status).toBe('ready');
    target = build.id;
  }
});

const post = (path: string, body: unknown) => server.api(path, { method: 'POST', token: server.tokens.operator, body: JSON.stringify(body), headers: { 'content-type': 'application/json' } });
const view = async (id: string) => (await (await server.api(`/api/v1/campaigns/${id}`, { token: server.tokens.operator })).json()) as CampaignView;

let seq = 0;
async function register(tag: string): Promise<DmClientOptions> {
  const id = `loop-dev-${++seq}`;
  const res = await post('/api/v1/devices', { id, model: MODEL, firmwareVersion: '1.0', tags: [tag], credentials: { username: id, password: 'device-password' } });
  expect(res.status).toBe(201);
  return { url: `${server.url}/dm`, devId: id, username: id, password: 'device-password', tree: { './DevDetail/FwV': '1.0', './DevDetail/SwV': '1', './DevDetail/HwV': 'A' } };
}

async function startCampaign(tag: string, extra: Record<string, unknown> = {}): Promise<string> {
  const res = await post('/api/v1/campaigns', { name: `loop ${tag}`, buildId: target, cohort: { tags: [tag] }, stages: [{ percent: 100, requiresApproval: false }], successThreshold: 1, failureThreshold: 0.5, minSample: 1, ...extra });
  expect(res.status).toBe(201);
  const { id } = (await res.json()) as { id: string };
  expect((await post(`/api/v1/campaigns/${id}/start`, {})).status).toBe(200);
  await server.campaigns.idle();
  return id;
}

const deploymentOf = (deviceId: string, campaignId: string) =>
  selectRow<{ id: string; state: string; attempts: number; history: string }>(server.ctx.db, 'SELECT id, state, attempts, history FROM deployments WHERE device_id = ? AND campaign_id = ?', deviceId, campaignId);

const commanded = (client: DmTestClient) => client.tree.has('./FUMO/fota/DownloadAndUpdate/PkgURL');

/**
 * A device whose messages go straight to the DM handler, in this process, so the test sees
 * the database as it is when the handler has its reply ready (the engine runs from a timer,
 * and nothing between the reply and these reads gives way to one).
 */
class InProcessDevice extends DmTestClient {
  readonly atReply: Array<{ campaign: string | undefined; deployment: string | undefined }> = [];

  constructor(
    options: DmClientOptions,
    private readonly campaignId: string,
  ) {
    super(options);
  }

  override async post(body: Uint8Array | string, contentType = XML, url = this.currentUrl, headers: Record<string, string> = {}) {
    const target = new URL(url);
    const token = target.searchParams.get('s');
    const hmac = headers['x-syncml-hmac'];
    const reply = await handleDmMessage(server.ctx, server.dmGuard, {
      body: typeof body === 'string' ? Buffer.from(body, 'utf8') : body,
      contentType,
      ...(token ? { token } : {}),
      ...(hmac ? { hmacHeader: hmac } : {}),
      serverUrl: `${target.origin}/dm`,
      address: '127.0.0.1',
    });
    this.atReply.push({ campaign: (await findCampaign(server.ctx.db, this.campaignId))?.state, deployment: (await deploymentOf(this.options.devId, this.campaignId))?.state });
    return { status: reply.status, contentType: reply.contentType, body: reply.body, retryAfter: reply.headers?.['retry-after'] ?? null };
  }
}

describe('the campaign loop', () => {
  it('evaluates a campaign after the DM request that moved it has returned, not inside it', async () => {
    const options = await register('after-request');
    const id = await startCampaign('after-request');
    const device = new InProcessDevice(options, id);
    await device.session();
    expect(commanded(device)).toBe(true);
    await server.campaigns.idle();
    const dep = await deploymentOf(options.devId, id);
    if (!dep) throw new Error('no deployment');
    device.tree.set('./DevDetail/FwV', '2.0');
    device.atReply.length = 0;
    const outcome = await device.session({ extra: [alertXml('1226', [{ source: './FUMO/fota/DownloadAndUpdate', type: 'org.openmobilealliance.dm.firmwareupdate.downloadandupdate', format: 'int', data: '200' }], `${dep.id}.${dep.attempts}`)] });
    expect(outcome).toMatchObject({ end: 'completed', authenticated: true });
    // The reply that recorded the success was ready while the campaign still ran: the
    // engine, which completes it, had not looked yet.
    expect(device.atReply.some((s) => s.deployment === 'succeeded')).toBe(true);
    expect(device.atReply.every((s) => s.campaign === 'running')).toBe(true);
    await server.campaigns.idle();
    expect((await view(id)).state).toBe('completed');
  });

  it('logs a listener that throws, and the DM request that signalled is answered as usual', async () => {
    const off = server.ctx.signals.on('device-seen', () => {
      throw new Error('a listener broke');
    });
    onTestFinished(off);
    const device = new DmTestClient(await register('broken-listener'));
    const outcome = await device.session();
    expect(outcome).toMatchObject({ end: 'completed', authenticated: true });
    expect(outcome.exchanges.every((e) => e.response.httpStatus === 200)).toBe(true);
    const logged = captured
      .lines()
      .map((line) => JSON.parse(line) as { msg: string; level: number; err?: { message: string }; signal?: { kind: string; deviceId: string } })
      .filter((l) => l.msg === 'a signal listener failed');
    expect(logged.length).toBeGreaterThan(0);
    expect(logged[0]).toMatchObject({ level: 50, err: { message: 'a listener broke' }, signal: { kind: 'device-seen', deviceId: device.options.devId } });
  });

  it('takes a device seen in a DM session into a running dynamic campaign it matches, and commands it in that session', async () => {
    const before = [await register('dynamic'), await register('dynamic')];
    const id = await startCampaign('dynamic', { dynamic: true });
    const scannedAt = (await findCampaign(server.ctx.db, id))?.joinScanAt;
    expect((await view(id)).cohortSize).toBe(before.length);

    const late = new DmTestClient(await register('dynamic'));
    const outsider = new DmTestClient(await register('not-in-the-cohort'));
    await late.session();
    await outsider.session();
    await server.campaigns.idle();
    // The first message of its session signalled it; on SQLite the join commits before the
    // client's next message on loopback is read. On PostgreSQL the join's round trips can
    // lose that race to a client with no network between; the device is then commanded in
    // its next session, which is what a real device's next message would find anyway.
    if (server.ctx.db.dialect === 'postgres' && !commanded(late)) await late.session();
    expect(commanded(late)).toBe(true);
    const joined = await deploymentOf(late.options.devId, id);
    expect(joined?.state).toBe('commanded');
    expect((JSON.parse(joined?.history ?? '[]') as Array<{ cause: string }>)[0]?.cause).toBe(`joined campaign ${id} (dynamic cohort, seen in a DM session), stage 1`);
    expect(await deploymentOf(outsider.options.devId, id)).toBeUndefined();
    expect(commanded(outsider)).toBe(false);
    const v = await view(id);
    expect(v.cohortSize).toBe(before.length + 1);
    expect(v.stages[0]).toMatchObject({ size: before.length + 1 });
    // No scan ran: the cohort scan's mark is where the start left it.
    expect((await findCampaign(server.ctx.db, id))?.joinScanAt).toBe(scannedAt);
  });
});
