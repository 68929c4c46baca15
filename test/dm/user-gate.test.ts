// The user-interaction gate in DM sessions, through the independent test client: a
// deployment with `confirm` sends Alert 1101 (options Item, then the text) before any
// FUMO command; the device's Status on it is the user's answer. 200: PkgURL and the Exec
// follow in the same session. 304: the deployment is canceled, nothing else is sent, now
// or at the next session. In XML and WBXML, on SQLite and PostgreSQL.
import { beforeAll, describe, expect, it } from 'vitest';
import { hasTool, nextBuild, pseudoRandom } from '../support/harness.ts';
import { type BuildBody, startTestServer, type TestServer } from '../support/server.ts';
import { child, childrenNamed, DmTestClient, textOf, type XmlNode } from '../support/dm-test-client.ts';

const wbxmlTools = hasTool('xml2wbxml', 'libwbxml2-utils') && hasTool('wbxml2xml', 'libwbxml2-utils');
const MODEL = 'gate-model';
let server: TestServer;
let v2: BuildBody;

beforeAll(async () => {
  server = await startTestServer();
  const v1 = pseudoRandom(16 * 1024, 'gate-v1');
  expect((await server.upload(MODEL, '1.0', v1)).status).toBe('ready');
  v2 = await server.upload(MODEL, '2.0', nextBuild(v1));
}, 120_000);

let count = 0;
async function deviceWithDeployment(encoding: 'xml' | 'wbxml', answer: number) {
  count += 1;
  const id = `gate-${encoding}-${count}`;
  const password = `password-${count}`;
  const res = await server.api('/api/v1/devices', { method: 'POST', token: server.tokens.operator, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ id, model: MODEL, firmwareVersion: '1.0', credentials: { username: id, password } }) });
  expect(res.status).toBe(201);
  const dep = await server.api('/api/v1/deployments', { method: 'POST', token: server.tokens.operator, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ deviceId: id, buildId: v2.id, confirm: { text: 'Install 2.0 & restart?', maxSeconds: 120, minSeconds: 3 } }) });
  expect(dep.status).toBe(201);
  const depId = ((await dep.json()) as { id: string }).id;
  const alertsSeen: string[] = [];
  const client = new DmTestClient({ url: `${server.url}/dm`, devId: id, username: id, password, encoding, tree: { './DevDetail/FwV': '1.0', './DevDetail/SwV': '1', './DevDetail/HwV': '1' }, alertStatus: (code) => (alertsSeen.push(code), code === '1101' ? answer : 200) });
  const deployment = async () => (await (await server.api(`/api/v1/deployments/${depId}`, { token: server.tokens.operator })).json()) as { state: string; history: Array<{ cause: string }> };
  return { client, deployment, alertsSeen };
}

/** The server's commands in a session, in order, by name and target. */
function serverCommands(client: DmTestClient): Array<{ name: string; node: XmlNode }> {
  return client.history.flatMap((ex) => ex.response.reply?.commands ?? []).filter((c) => c.name !== 'Status').map((node) => ({ name: node.name, node }));
}

describe.each(['xml', 'wbxml'] as const)('a deployment that asks the user first (%s)', (encoding) => {
  const run = it.skipIf(encoding === 'wbxml' && !wbxmlTools);

  run('sends Alert 1101 before any FUMO command, and the commands in the same session once the user accepts', async () => {
    const { client, deployment, alertsSeen } = await deviceWithDeployment(encoding, 200);
    const outcome = await client.session();
    expect(outcome.end).toBe('completed');
    expect(alertsSeen).toEqual(['1101']);
    const names = serverCommands(client).map((c) => c.name);
    expect(names.indexOf('Alert')).toBeLessThan(names.indexOf('Exec'));
    const alert = serverCommands(client).find((c) => c.name === 'Alert')?.node;
    const items = childrenNamed(alert, 'Item').map((i) => textOf(i, 'Data'));
    expect(items).toEqual(['MINDT=3&MAXDT=120', 'Install 2.0 & restart?']);
    const exec = serverCommands(client).find((c) => c.name === 'Exec')?.node;
    expect(textOf(child(child(exec, 'Item'), 'Target'), 'LocURI')).toBe('./FUMO/fota/DownloadAndUpdate');
    const view = await deployment();
    expect(view.state).toBe('commanded');
    expect(view.history.map((h) => h.cause)).toContain('the user accepted the update (Alert 1101 answered 200)');
  });

  run('sends no FUMO command and cancels the deployment when the user rejects (304), and asks no more', async () => {
    const { client, deployment, alertsSeen } = await deviceWithDeployment(encoding, 304);
    expect((await client.session()).end).toBe('completed');
    expect(serverCommands(client).some((c) => c.name === 'Exec' || (c.name === 'Replace' && textOf(child(child(c.node, 'Item'), 'Target'), 'LocURI')?.endsWith('PkgURL')))).toBe(false);
    const view = await deployment();
    expect(view.state).toBe('canceled');
    expect(view.history.at(-1)?.cause).toBe('the user rejected the update (Alert 1101 answered 304)');
    await client.session();
    expect(alertsSeen).toEqual(['1101']);
  });

  run('takes a device that cannot ask its user (406) as no consent: canceled with that reason', async () => {
    const { client, deployment } = await deviceWithDeployment(encoding, 406);
    await client.session();
    expect((await deployment()).history.at(-1)?.cause).toBe('the device cannot ask its user: the update is not confirmed (Alert 1101 answered 406)');
  });
});

it('keeps the session open while the user may answer: its idle timeout grows by maxSeconds once the prompt is out', async () => {
  const { client } = await deviceWithDeployment('xml', 200);
  // Stop after the message that brings the prompt, as a device whose user has not answered yet
  // (1: challenged, 2: FwV read, 3: the prompt).
  const outcome = await client.session({ maxMessages: 3 });
  expect(outcome.exchanges.at(-1)?.response.reply?.commands.some((c) => c.name === 'Alert' && textOf(c, 'Data') === '1101')).toBe(true);
  const rows = await server.ctx.db.q.select().from(server.ctx.db.t.dmSessions);
  const session = rows.find((r) => r.deviceId === client.options.devId);
  expect(session?.state).toBe('open');
  expect((session?.expiresAt ?? 0) - (session?.updatedAt ?? 0)).toBe(server.ctx.config.dm.sessionIdleMs + 120_000);
});
