// People who hold tokens, over real HTTP: four eyes compares people (one person's two
// tokens are one pair of eyes; two people whose tokens share a name are two), the audit
// log and the campaign name the person, roles still hold, a token that is not an admin's
// creates tokens only for its own person, and request logs name the person and the token
// without ever showing a token.
import { beforeAll, describe, expect, it } from 'vitest';
import { auditOf } from '../../src/store/queries/audit.ts';
import { nextBuild, pseudoRandom } from '../support/harness.ts';
import { LEVEL, parseLog } from '../support/log.ts';
import { capturedLog, startTestServer, type TestServer } from '../support/server.ts';

const MODEL = 'people-router';
let server: TestServer;
let target: string;
const logged = capturedLog();

beforeAll(async () => {
  server = await startTestServer({}, { log: logged.log });
  const v1 = pseudoRandom(50_000, 'people-v1');
  for (const [version, image] of [['1.0', v1], ['2.0', nextBuild(v1)]] as const) target = (await server.upload(MODEL, version, image)).id;
});

const call = (path: string, token: string, body?: unknown) =>
  server.api(path, body === undefined ? { token } : { method: 'POST', token, body: JSON.stringify(body), headers: { 'content-type': 'application/json' } });

/** A new token for `person` (created on first use), made by the admin. */
async function tokenFor(person: string, name: string, role = 'operator'): Promise<string> {
  const res = await call('/api/v1/tokens', server.tokens.admin, { role, name, person });
  expect(res.status, await res.clone().text()).toBe(201);
  return ((await res.json()) as { token: string }).token;
}

let seq = 0;
/** A four-eyes campaign over one new device, created and started with `token`, its one stage awaiting approval. */
async function awaitingApproval(token: string): Promise<string> {
  const tag = `people-${++seq}`;
  const device = await call('/api/v1/devices', token, { id: `people-dev-${seq}`, model: MODEL, firmwareVersion: '1.0', tags: [tag], credentials: { username: `people-dev-${seq}`, password: 'device-password' } });
  expect(device.status).toBe(201);
  const created = await call('/api/v1/campaigns', token, { name: `campaign ${tag}`, buildId: target, cohort: { tags: [tag] }, fourEyes: true, stages: [{ percent: 100, requiresApproval: true }] });
  expect(created.status, await created.clone().text()).toBe(201);
  const { id } = (await created.json()) as { id: string };
  expect((await call(`/api/v1/campaigns/${id}/start`, token, {})).status).toBe(200);
  await server.campaigns.idle();
  return id;
}

const approve = async (id: string, token: string) => {
  const res = await call(`/api/v1/campaigns/${id}/approve`, token, {});
  await server.campaigns.idle();
  return res;
};

describe('four eyes compares people', () => {
  it('refuses the creator approving with another of their own tokens, and names them', async () => {
    await call('/api/v1/people', server.tokens.admin, { login: 'alice', displayName: 'Alice' });
    const desk = await tokenFor('alice', 'desk');
    const laptop = await tokenFor('alice', 'laptop');
    const id = await awaitingApproval(desk);
    const refused = await approve(id, laptop);
    expect(refused.status).toBe(403);
    const { error } = (await refused.json()) as { error: { code: string; message: string } };
    expect(error.code).toBe('FORBIDDEN');
    expect(error.message).toContain('awaiting approval by someone other than Alice');
    const stage = ((await (await call(`/api/v1/campaigns/${id}`, desk)).json()) as { stages: Array<{ state: string }> }).stages[0];
    expect(stage?.state).toBe('awaitingApproval');
  });

  it('lets another person approve even when their token has the same name as the creator’s', async () => {
    const carolLaptop = await tokenFor('carol', 'laptop');
    const daveLaptop = await tokenFor('dave', 'laptop');
    const id = await awaitingApproval(carolLaptop);
    const approved = await approve(id, daveLaptop);
    expect(approved.status, await approved.clone().text()).toBe(200);
    const view = (await approved.json()) as { createdBy: string; stages: Array<{ state: string; approvedBy: string }> };
    expect(view.createdBy).toBe('carol');
    expect(view.stages[0]).toMatchObject({ state: 'running', approvedBy: 'dave' });
  });

  it('records the person, their name and the token used in the audit log', async () => {
    const erin = await tokenFor('erin', 'erin-laptop');
    const frank = await tokenFor('frank', 'frank-desk');
    const id = await awaitingApproval(erin);
    expect((await approve(id, frank)).status).toBe(200);
    const people = (await (await call('/api/v1/people', server.tokens.admin)).json()) as Array<{ id: string; login: string; tokens: Array<{ id: string; name: string }> }>;
    const erinRow = people.find((p) => p.login === 'erin');
    const frankRow = people.find((p) => p.login === 'frank');
    const events = await auditOf(server.ctx.db, id);
    expect(events.find((e) => e.action === 'campaign.create')).toMatchObject({ actor: erinRow?.id, actorName: 'erin', tokenId: erinRow?.tokens[0]?.id });
    expect(events.find((e) => e.action === 'campaign.approve')).toMatchObject({ actor: frankRow?.id, actorName: 'frank', tokenId: frankRow?.tokens[0]?.id });
  });
});

describe('people and their tokens', () => {
  it('lists people with their tokens, never a token or its hash', async () => {
    const token = await tokenFor('grace', 'grace-ci');
    const res = await call('/api/v1/people', server.tokens.admin);
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(text).not.toContain(token);
    expect(text).not.toMatch(/hash/i);
    const grace = (JSON.parse(text) as Array<{ login: string; displayName: string; tokens: Array<{ name: string; role: string; revokedAt: string | null }> }>).find((p) => p.login === 'grace');
    expect(grace).toMatchObject({ displayName: 'grace', tokens: [{ name: 'grace-ci', role: 'operator', revokedAt: null }] });
  });

  it('gives a token an admin creates without a person to the person named like the token, not to the admin', async () => {
    const res = await call('/api/v1/tokens', server.tokens.admin, { role: 'operator', name: 'night shift' });
    expect(res.status).toBe(201);
    const { personId } = (await res.json()) as { personId: string };
    const people = (await (await call('/api/v1/people', server.tokens.admin)).json()) as Array<{ id: string; login: string; tokens: Array<{ name: string }> }>;
    expect(people.find((p) => p.id === personId)).toMatchObject({ login: 'night shift', tokens: [{ name: 'night shift' }] });
    expect(people.find((p) => p.login === 'admin')?.tokens.map((t) => t.name)).toEqual(['FOTA_ADMIN_TOKEN']);
  });

  it('gives tokens created at the same time for a new person to one person', async () => {
    const answers = await Promise.all(['a', 'b', 'c', 'd'].map((n) => call('/api/v1/tokens', server.tokens.admin, { role: 'operator', name: `nina-${n}`, person: 'nina' })));
    expect(answers.map((r) => r.status)).toEqual([201, 201, 201, 201]);
    const ids = new Set(await Promise.all(answers.map(async (r) => ((await r.json()) as { personId: string }).personId)));
    expect(ids.size).toBe(1);
  });

  it('refuses a second person with a login that is taken (409)', async () => {
    expect((await call('/api/v1/people', server.tokens.admin, { login: 'heidi' })).status).toBe(201);
    const again = await call('/api/v1/people', server.tokens.admin, { login: 'heidi', displayName: 'Another Heidi' });
    expect(again.status).toBe(409);
  });

  it('refuses a login with control characters (400)', async () => {
    expect((await call('/api/v1/people', server.tokens.admin, { login: 'evil\nINFO forged log line' })).status).toBe(400);
    expect((await call('/api/v1/tokens', server.tokens.admin, { role: 'operator', name: 'x', person: 'a\u0000b' })).status).toBe(400);
  });
});

describe('security', () => {
  it('keeps roles: an operator person cannot list or create people, nor upload builds', async () => {
    const ivan = await tokenFor('ivan', 'ivan-desk');
    expect((await call('/api/v1/people', ivan)).status).toBe(403);
    expect((await call('/api/v1/people', ivan, { login: 'mallory' })).status).toBe(403);
    expect((await server.api(`/api/v1/builds?model=${MODEL}&version=9.9`, { method: 'POST', token: ivan, body: new Uint8Array(10) })).status).toBe(403);
    expect((await call('/api/v1/people', 'fota_not-a-real-token-at-all-0000')).status).toBe(401);
  });

  it('lets a token that is not an admin create a token only for its own person, role and manufacturer', async () => {
    const judy = await tokenFor('judy', 'judy-desk');
    await tokenFor('karl', 'karl-desk');
    const forKarl = await call('/api/v1/tokens', judy, { role: 'operator', name: 'sneaky', person: 'karl' });
    expect(forKarl.status).toBe(403);
    expect((await call('/api/v1/tokens', judy, { role: 'admin', name: 'escalate' })).status).toBe(403);
    expect((await call('/api/v1/tokens', judy, { role: 'manufacturer', name: 'vendor', manufacturer: 'acme' })).status).toBe(403);
    expect((await call('/api/v1/tokens', server.tokens.acme, { role: 'manufacturer', name: 'other vendor', manufacturer: 'globex' })).status).toBe(403);

    const own = await call('/api/v1/tokens', judy, { role: 'operator', name: 'judy-laptop' });
    expect(own.status).toBe(201);
    const { token } = (await own.json()) as { token: string };
    // The new token is judy's: it cannot approve a campaign judy created.
    const id = await awaitingApproval(judy);
    expect((await approve(id, token)).status).toBe(403);
    const people = (await (await call('/api/v1/people', server.tokens.admin)).json()) as Array<{ login: string; tokens: Array<{ name: string }> }>;
    expect(people.find((p) => p.login === 'judy')?.tokens.map((t) => t.name)).toEqual(['judy-desk', 'judy-laptop']);
    expect(people.find((p) => p.login === 'karl')?.tokens.map((t) => t.name)).toEqual(['karl-desk']);
  });
});

describe('request logs', () => {
  it('name the person and the token (by its name) and never show a token', async () => {
    await call('/api/v1/people', server.tokens.admin, { login: 'liam', displayName: 'Liam Neeson' });
    const token = await tokenFor('liam', 'liam-phone');
    const res = await server.api('/api/v1/campaigns', { token, headers: { 'x-request-id': 'people-log-check' } });
    expect(res.status).toBe(200);
    const lines = logged.lines();
    const line = parseLog(lines).find((l) => l.requestId === 'people-log-check' && l.msg === 'request');
    expect(line?.level).toBe(LEVEL.info);
    expect(line?.actor).toMatchObject({ person: 'Liam Neeson', tokenName: 'liam-phone', role: 'operator' });
    const all = lines.join('\n');
    expect(all).not.toContain(token);
    expect(all).not.toContain(server.tokens.admin);
    expect(all).not.toContain(server.tokens.operator);
  });
});
