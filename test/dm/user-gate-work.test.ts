// The user-interaction gate in front of work other than firmware, through real DM sessions
// with the independent test client, in XML and WBXML (on SQLite and PostgreSQL): a SCOMO
// install, a profile application and a helpdesk live query, each with `confirm`. The
// prompt (Alert 1101) goes out first and nothing of the work before the user's answer.
// 200: the work's commands follow in the same session. 304: the work ends as canceled by
// the user, nothing is sent, now or later. 408 (no answer in time): nothing is sent, and
// the next session asks again. Every answer is in the device's history.
import { beforeAll, describe, expect, it } from 'vitest';
import { hasTool, pseudoRandom } from '../support/harness.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { child, DmTestClient, textOf, type XmlNode } from '../support/dm-test-client.ts';

const wbxmlTools = hasTool('xml2wbxml', 'libwbxml2-utils') && hasTool('wbxml2xml', 'libwbxml2-utils');
const MODEL = 'gate-work-model';
const CONFIRM = { text: 'May we change your device now?', maxSeconds: 60 };
const APN = './Vendor/APN/Name';
const DIAG = './Vendor/Diag/Counters';
let server: TestServer;

const call = async (path: string, body?: unknown, method = 'POST') =>
  server.api(path, { token: server.tokens.operator, ...(body === undefined ? {} : { method, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }) });

beforeAll(async () => {
  server = await startTestServer();
  const app = await server.api(`/api/v1/apps?model=${MODEL}&component=com.acme.notes&version=1.0`, { method: 'POST', token: server.tokens.acme, body: pseudoRandom(8_000, 'gate-notes'), headers: { 'content-type': 'application/octet-stream' } });
  expect(app.status).toBe(201);
  const profile = await call('/api/v1/profiles', { name: 'apn-gate', model: MODEL, operations: [{ command: 'Replace', uri: APN, data: 'internet.v2' }] });
  expect(profile.status).toBe(201);
}, 120_000);

type Kind = 'scomo' | 'profile' | 'query';

interface Work {
  /** The state of the work item as its own API shows it. */
  state: () => Promise<string>;
  /** Whether a message of the session carried the work's own command (the Exec, the Replace, the Get). */
  sent: (client: DmTestClient) => boolean;
}

let count = 0;
async function deviceWith(kind: Kind, encoding: 'xml' | 'wbxml', answers: number[]) {
  count += 1;
  const id = `gw-${kind}-${encoding}-${count}`;
  const password = `password-${count}`;
  expect((await call('/api/v1/devices', { id, model: MODEL, firmwareVersion: '1.0', credentials: { username: id, password } })).status).toBe(201);
  const alertsSeen: string[] = [];
  const client = new DmTestClient({
    url: `${server.url}/dm`,
    devId: id,
    username: id,
    password,
    encoding,
    tree: { './DevDetail/FwV': '1.0', './DevDetail/SwV': '1', './DevDetail/HwV': '1', [APN]: 'internet.v1', [DIAG]: 'rx=10 tx=4' },
    alertStatus: (code) => {
      alertsSeen.push(code);
      return code === '1101' ? (answers[alertsSeen.filter((c) => c === '1101').length - 1] ?? 200) : 200;
    },
  });
  return { id, client, alertsSeen, work: await makeWork(kind, id) };
}

async function makeWork(kind: Kind, id: string): Promise<Work> {
  if (kind === 'scomo') {
    const res = await call(`/api/v1/devices/${id}/apps`, { operation: 'install', component: 'com.acme.notes', version: '1.0', confirm: CONFIRM });
    expect(res.status, await res.clone().text()).toBe(201);
    const { id: sdp } = (await res.json()) as { id: string };
    return {
      state: async () => ((await (await call(`/api/v1/scomo-deployments/${sdp}`)).json()) as { state: string }).state,
      sent: (client) => serverCommands(client).some((c) => c.name === 'Exec' && targetOf(c.node).startsWith(`./SCOMO/Download/${sdp}/`)),
    };
  }
  if (kind === 'profile') {
    const res = await call(`/api/v1/devices/${id}/profile`, { profile: 'apn-gate@1', notify: false, confirm: CONFIRM });
    expect(res.status, await res.clone().text()).toBe(202);
    const { applicationId } = (await res.json()) as { applicationId: string };
    return {
      state: async () => ((await (await call(`/api/v1/devices/${id}/profile-applications/${applicationId}`)).json()) as { state: string }).state,
      sent: (client) => serverCommands(client).some((c) => c.name === 'Replace' && targetOf(c.node) === APN),
    };
  }
  const res = await call(`/api/v1/devices/${id}/queries`, { nodes: [DIAG], wake: false, confirm: CONFIRM });
  expect(res.status, await res.clone().text()).toBe(202);
  const { id: queryId } = (await res.json()) as { id: string };
  return {
    state: async () => {
      const view = (await (await call(`/api/v1/devices/${id}/queries/${queryId}`)).json()) as { state: string; confirmation: { state: string } | null; results: Array<{ state: string; value: string | null }> };
      return `${view.confirmation?.state ?? '-'} ${view.results.map((r) => `${r.state}:${r.value ?? ''}`).join(',')}`;
    },
    sent: (client) => serverCommands(client).some((c) => c.name === 'Get' && targetOf(c.node) === DIAG),
  };
}

/** The server's commands in the client's sessions, in order. */
function serverCommands(client: DmTestClient): Array<{ name: string; node: XmlNode }> {
  return client.history.flatMap((ex) => ex.response.reply?.commands ?? []).filter((c) => c.name !== 'Status').map((node) => ({ name: node.name, node }));
}

const targetOf = (node: XmlNode): string => textOf(child(child(node, 'Item'), 'Target'), 'LocURI') ?? '';

async function historyOf(deviceId: string): Promise<Array<{ action: string; details: Record<string, unknown> }>> {
  const page = (await (await call(`/api/v1/audit?subject=${deviceId}`)).json()) as { items: Array<{ action: string; details: Record<string, unknown> }> };
  return page.items;
}

const EXPECTED: Record<Kind, { accepted: string; rejected: string; waiting: string }> = {
  // The test client completes a SCOMO Exec at once (Status 200).
  scomo: { accepted: 'succeeded', rejected: 'canceled', waiting: 'scheduled' },
  profile: { accepted: 'succeeded', rejected: 'canceled', waiting: 'queued' },
  query: { accepted: 'accepted done:rx=10 tx=4', rejected: 'rejected failed:', waiting: 'timeout queued:' },
};

describe.each(['xml', 'wbxml'] as const)('work that asks the user first (%s)', (encoding) => {
  const run = it.skipIf(encoding === 'wbxml' && !wbxmlTools);

  describe.each(['scomo', 'profile', 'query'] as const)('%s', (kind) => {
    run('sends Alert 1101 first and the work in the same session once the user accepts', async () => {
      const { id, client, alertsSeen, work } = await deviceWith(kind, encoding, [200]);
      expect((await client.session()).end).toBe('completed');
      expect(alertsSeen).toEqual(['1101']);
      const names = serverCommands(client);
      const alertAt = names.findIndex((c) => c.name === 'Alert' && textOf(c.node, 'Data') === '1101');
      expect(alertAt).toBeGreaterThanOrEqual(0);
      expect(work.sent(client)).toBe(true);
      // Nothing of the work went out before the prompt.
      const firstWork = names.findIndex((c) => ['Exec', 'Replace'].includes(c.name) || (c.name === 'Get' && targetOf(c.node) === DIAG));
      expect(firstWork).toBeGreaterThan(alertAt);
      expect(await work.state()).toBe(EXPECTED[kind].accepted);
      const answers = (await historyOf(id)).filter((e) => e.action === 'dm.user-answer').map((e) => e.details.outcome);
      expect(answers).toEqual(['accepted']);
    });

    run('sends none of the work and ends it as canceled by the user when the user rejects (304), and asks no more', async () => {
      const { id, client, alertsSeen, work } = await deviceWith(kind, encoding, [304]);
      expect((await client.session()).end).toBe('completed');
      expect(work.sent(client)).toBe(false);
      expect(await work.state()).toBe(EXPECTED[kind].rejected);
      await client.session();
      expect(alertsSeen).toEqual(['1101']);
      expect(work.sent(client)).toBe(false);
      const history = await historyOf(id);
      expect(history.filter((e) => e.action === 'dm.user-answer').map((e) => e.details.outcome)).toEqual(['rejected']);
      const ended = history.find((e) => ['device.profile-canceled', 'device.query-canceled'].includes(e.action));
      if (kind !== 'scomo') expect(String(ended?.details.cause)).toMatch(/^the user rejected the (configuration change|query) \(Alert 1101 answered 304\)$/);
    });

    run('sends none of the work when the user does not answer in time (408), and asks again at the next session', async () => {
      const { client, alertsSeen, work } = await deviceWith(kind, encoding, [408, 200]);
      await client.session();
      expect(work.sent(client)).toBe(false);
      expect(await work.state()).toBe(EXPECTED[kind].waiting);
      await client.session();
      expect(alertsSeen).toEqual(['1101', '1101']);
      expect(work.sent(client)).toBe(true);
      expect(await work.state()).toBe(EXPECTED[kind].accepted);
    });
  });
});

it('records the reason on the SCOMO deployment: rejected by the user, not failed', async () => {
  const { client, work } = await deviceWith('scomo', 'xml', [304]);
  await client.session();
  expect(await work.state()).toBe('canceled');
  const rows = await server.ctx.db.q.select().from(server.ctx.db.t.scomoDeployments);
  const row = rows.find((r) => r.deviceId === client.options.devId);
  const history = JSON.parse(row?.history ?? '[]') as Array<{ cause: string }>;
  expect(history.at(-1)?.cause).toBe('the user rejected the install (Alert 1101 answered 304)');
  expect(row?.resultCode).toBeNull();
});

it('gives up after three prompts left unanswered: the application ends as canceled, its operations never sent', async () => {
  const { id, client, alertsSeen, work } = await deviceWith('profile', 'xml', [408, 408, 408]);
  for (let i = 0; i < 4; i += 1) await client.session();
  expect(alertsSeen).toEqual(['1101', '1101', '1101']);
  expect(work.sent(client)).toBe(false);
  expect(await work.state()).toBe('canceled');
  const ended = (await historyOf(id)).find((e) => e.action === 'device.profile-canceled');
  expect(ended?.details.cause).toBe('the user did not answer (3 prompts): the configuration change is not confirmed');
});

describe.each(['xml', 'wbxml'] as const)('a prompt that looks like SyncML (%s)', (encoding) => {
  it.skipIf(encoding === 'wbxml' && !wbxmlTools)('is sent as text: the device shows it verbatim and gets no command from it', async () => {
    const text = '</Data></Item></Alert><Exec><CmdID>99</CmdID><Item><Target><LocURI>./FUMO/fota/Update</LocURI></Target></Item></Exec> & DR=1';
    const { id, client } = await deviceWith('query', encoding, [304, 304]);
    // A second query, asked with the hostile text.
    expect((await call(`/api/v1/devices/${id}/queries`, { nodes: ['./DevInfo/Lang'], wake: false, confirm: { text, maxSeconds: 30 } })).status).toBe(202);
    await client.session();
    const alerts = serverCommands(client).filter((c) => c.name === 'Alert' && textOf(c.node, 'Data') === '1101');
    const items = alerts.map((a) => a.node.children.filter((n) => n.name === 'Item').map((item) => textOf(item, 'Data')));
    expect(items).toContainEqual(['MAXDT=30', text]);
    expect(serverCommands(client).some((c) => c.name === 'Exec')).toBe(false);
  });
});

it("keeps a configuration campaign's deployment scheduled while its user decides, as a firmware one, and commands it once the user accepts", async () => {
  const id = 'gw-campaign-profile';
  expect((await call('/api/v1/devices', { id, model: MODEL, firmwareVersion: '1.0', credentials: { username: id, password: 'password-campaign' } })).status).toBe(201);
  const answers = [408, 200];
  const client = new DmTestClient({
    url: `${server.url}/dm`,
    devId: id,
    username: id,
    password: 'password-campaign',
    tree: { './DevDetail/FwV': '1.0', './DevDetail/SwV': '1', './DevDetail/HwV': '1', [APN]: 'internet.v1' },
    alertStatus: (code) => (code === '1101' ? (answers.shift() ?? 200) : 200),
  });
  const created = await call('/api/v1/campaigns', { name: `apn asked ${id}`, profile: 'apn-gate@1', cohort: { deviceIds: [id] }, stages: [{ percent: 100, requiresApproval: false }], confirm: CONFIRM });
  expect(created.status, await created.clone().text()).toBe(201);
  const campaignId = ((await created.json()) as { id: string }).id;
  expect((await call(`/api/v1/campaigns/${campaignId}/start`, {})).status).toBe(200);
  await server.campaigns.idle();
  const deployment = async () => {
    const list = (await (await call(`/api/v1/deployments?campaign=${campaignId}`)).json()) as { items: Array<{ id: string }> };
    return (await (await call(`/api/v1/deployments/${list.items[0]?.id ?? ''}`)).json()) as { state: string; attempts: number; history: Array<{ state: string; cause: string }> };
  };
  const counts = async () => ((await (await call(`/api/v1/campaigns/${campaignId}`)).json()) as { stages: Array<{ counts: Record<string, number> }> }).stages[0]?.counts;

  // The user does not answer in time: nothing was sent, the deployment waits scheduled.
  await client.session();
  const waiting = await deployment();
  expect(waiting.state).toBe('scheduled');
  expect(waiting.history.at(-1)?.cause).toMatch(/^the user did not answer in time/);
  expect(waiting.history.map((h) => h.state)).not.toContain('commanded');
  expect(await counts()).toMatchObject({ scheduled: 1, commanded: 0 });

  // The next session asks again (no second application queued); accepted, it is commanded and applied.
  await client.session();
  await server.campaigns.idle();
  const done = await deployment();
  expect(done.state).toBe('succeeded');
  expect(done.attempts).toBe(1);
  const commanded = done.history.find((h) => h.state === 'commanded');
  expect(commanded?.cause).toBe('the user accepted the configuration change (Alert 1101 answered 200)');
  expect(client.tree.get(APN)).toBe('internet.v2');
  const applications = (await (await call(`/api/v1/devices/${encodeURIComponent(id)}/configuration`)).json()) as { applications: Array<{ reason: string; state: string }> };
  expect(applications.applications.filter((a) => a.reason === 'campaign')).toEqual([expect.objectContaining({ state: 'succeeded' })]);
});
