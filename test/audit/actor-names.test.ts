// Who acted, by name, on every audit event: the campaign engine's own steps (an automatic
// pause, a stage done) say "fota (automatic)", a step taken on a person's behalf (a start,
// whose first stage the engine starts) names the person, and the audit API, the CLI, the
// console's activity timeline and the operator webhooks all show that name, never a blank
// or a bare id. Real HTTP, real DM sessions (the independent test client plays devices).
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { tickCampaigns } from '../../src/campaigns/engine.ts';
import { ENGINE_ACTOR } from '../../src/campaigns/policy.ts';
import type { Output } from '../../src/cli/io.ts';
import { main } from '../../src/cli/main.ts';
import { serverActorName } from '../../src/store/queries/actor-names.ts';
import { SYSTEM_ACTOR } from '../../src/tokens/tokens.ts';
import { DmTestClient } from '../support/dm-test-client.ts';
import { nextBuild, pseudoRandom } from '../support/harness.ts';
import { ALLOW_LOOPBACK_WEBHOOKS, startTestServer, type TestServer } from '../support/server.ts';
import { selectRows } from '../support/sql.ts';
import { login } from '../web/console-harness.ts';

const MODEL = 'router-names';
let server: TestServer;
let target: string;
let campaignId: string;
let receiver: Server;
const received: Array<{ type: string; actor: string; actorName?: string }> = [];

interface AuditItem {
  action: string;
  actor: string;
  actorName: string;
  tokenId: string | null;
}

const post = (path: string, body: unknown, token = server.tokens.operator) =>
  server.api(path, { method: 'POST', token, body: JSON.stringify(body), headers: { 'content-type': 'application/json' } });

beforeAll(async () => {
  vi.stubEnv('FOTA_TOKEN', '');
  vi.stubEnv('FOTA_SERVER', '');
  server = await startTestServer({}, { env: ALLOW_LOOPBACK_WEBHOOKS });
  receiver = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      received.push(JSON.parse(body) as { type: string; actor: string; actorName?: string });
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  const hook = await post('/api/v1/webhooks', { url: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook` }, server.tokens.admin);
  expect(hook.status, await hook.clone().text()).toBe(201);

  const v1 = pseudoRandom(40_000, 'names-v1');
  await server.upload(MODEL, '1.0', v1);
  target = (await server.upload(MODEL, '2.0', nextBuild(v1))).id;
  const clients: DmTestClient[] = [];
  for (let i = 0; i < 2; i++) {
    const id = `names-${i}`;
    expect((await post('/api/v1/devices', { id, model: MODEL, firmwareVersion: '1.0', tags: ['names'], credentials: { username: id, password: 'device-password' } })).status).toBe(201);
    clients.push(new DmTestClient({ url: `${server.url}/dm`, devId: id, username: id, password: 'device-password', tree: { './DevDetail/FwV': '1.0', './DevDetail/SwV': '1', './DevDetail/HwV': 'A' } }));
  }
  const created = await post('/api/v1/campaigns', { name: 'names', buildId: target, cohort: { tags: ['names'] }, stages: [{ percent: 100 }], minSample: 1, failureThreshold: 0.1, timeoutMinutes: 30 });
  expect(created.status, await created.clone().text()).toBe(201);
  campaignId = ((await created.json()) as { id: string }).id;
  expect((await post(`/api/v1/campaigns/${campaignId}/start`, {})).status).toBe(200);
  await server.campaigns.idle();
  // Both devices are commanded, then go silent: the engine times them out and pauses the campaign by itself.
  for (const client of clients) await client.session();
  await server.campaigns.idle();
  server.clock.advance(31 * 60_000);
  await tickCampaigns(server.ctx);
  await server.campaigns.idle();
}, 120_000);

afterAll(async () => {
  vi.unstubAllEnvs();
  await new Promise<void>((resolve) => receiver.close(() => resolve()));
});

async function campaignEvents(): Promise<AuditItem[]> {
  const res = await server.api(`/api/v1/audit?subject=${campaignId}&limit=100`, { token: server.tokens.operator });
  expect(res.status).toBe(200);
  return ((await res.json()) as { items: AuditItem[] }).items;
}

describe('the name of who acted', () => {
  it('is "fota (automatic)" for the engine\'s own pause, and the operator for the start taken on their behalf', async () => {
    const events = await campaignEvents();
    const pause = events.find((e) => e.action === 'campaign.pause');
    expect(pause).toMatchObject({ actor: ENGINE_ACTOR, actorName: 'fota (automatic)', tokenId: null });
    // The start is the operator's; the engine took the step (campaign.started, the stage start) in their name.
    for (const action of ['campaign.start', 'campaign.started', 'campaign.stage.start']) {
      const event = events.find((e) => e.action === action);
      expect(event, action).toMatchObject({ actorName: 'ops' });
      expect(event?.actor, action).toMatch(/^psn_/);
    }
  });

  it('is recorded on every event of the log, whoever wrote it (DM, downloads, the server, people)', async () => {
    const rows = await selectRows<{ actor: string; actor_name: string | null }>(server.ctx.db, 'SELECT actor, actor_name FROM audit_events');
    expect(rows.length).toBeGreaterThan(5);
    expect(rows.filter((r) => !r.actor_name)).toEqual([]);
    expect(rows.filter((r) => /^psn_/.test(r.actor_name ?? ''))).toEqual([]);
  });

  it('has a name for each part of the server that records events by itself', () => {
    for (const actor of [ENGINE_ACTOR, SYSTEM_ACTOR, 'dm', 'download']) expect(serverActorName(actor), actor).toMatch(/^fota \(/);
    expect(serverActorName('psn_x')).toBeUndefined();
    expect(serverActorName('constructor')).toBeUndefined();
  });

  it('is what the console\'s activity timeline shows', async () => {
    const cookie = await login(server, server.tokens.operator);
    const page = await (await fetch(`${server.url}/campaigns/${campaignId}`, { headers: { cookie } })).text();
    const who = [...page.matchAll(/data-testid="activity-who">by ([^<]*)</g)].map((m) => m[1]);
    expect(who).toContain('fota (automatic)');
    expect(who).toContain('ops');
    expect(who.filter((w) => !w || /^psn_/.test(w ?? ''))).toEqual([]);
  });

  it('is the WHO column of fota audit', async () => {
    let stdout = '';
    const io: Output = { out: (text) => void (stdout += text), err: () => undefined, interactive: false };
    expect(await main(['audit', '--subject', campaignId, '--server', server.url, '--token', server.tokens.operator], io)).toBe(0);
    const lines = stdout.split('\n');
    expect(lines[0]).toMatch(/^AT\s+WHO\s+ACTION/);
    expect(lines.find((l) => l.includes('campaign.pause'))).toContain('fota (automatic)');
    expect(lines.find((l) => / campaign\.start /.test(l))).toContain('ops');
  });

  it('is in the operator webhook for the automatic pause', async () => {
    await vi.waitFor(() => expect(received.find((b) => b.type === 'campaign.paused')).toBeDefined(), { timeout: 20_000 });
    expect(received.find((b) => b.type === 'campaign.paused')).toMatchObject({ actor: ENGINE_ACTOR, actorName: 'fota (automatic)' });
  });
});
