// Console sessions against a real server, as someone holding a copy of the cookie would
// try them: signing out must end that copy on every process sharing the database, on
// pages and on actions, while the token's other sessions go on; cookies that were never
// ours, or no longer are, fail cleanly and leave nothing behind.
import pino from 'pino';
import nacl from 'tweetnacl';
import { beforeAll, describe, expect, it } from 'vitest';
import { startServer } from '../../src/start.ts';
import { SESSION_MAX_MS } from '../../src/web/session.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { selectRows } from '../support/sql.ts';
import { type Builds, campaignState, createCampaign, get, login, post, registerDevice, uploadBuilds } from './console-harness.ts';

let server: TestServer;
let builds: Builds;
let devices = 0;

beforeAll(async () => {
  server = await startTestServer();
  builds = await uploadBuilds(server);
});

async function draftCampaign(name: string): Promise<string> {
  const id = `SES-${String(++devices).padStart(3, '0')}`;
  await registerDevice(server, id);
  return createCampaign(server, { name, buildId: builds.v2.id, deviceIds: [id] });
}

const revokedRows = () => selectRows(server.ctx.db, 'select id, expires_at as "expiresAt" from revoked_console_sessions');

/** A sign-out as the browser sends it (the console's form, same origin). */
async function logout(target: { url: string }, cookie: string): Promise<void> {
  const res = await fetch(`${target.url}/logout`, { method: 'POST', redirect: 'manual', headers: { cookie, origin: target.url, 'content-type': 'application/x-www-form-urlencoded' }, body: '' });
  expect(res.status).toBe(303);
  expect(res.headers.get('location')).toBe('/login');
}

/** What the console does without a session: pages and actions go to the login page, the live refresh gets 401. */
async function expectNoSession(target: TestServer, cookie: string, campaignId: string): Promise<void> {
  const page = await get(target, '/', cookie);
  expect(page.status).toBe(303);
  expect(page.headers.get('location')).toMatch(/^\/login\?/);
  expect((await get(target, `/campaigns/${campaignId}`, cookie, { 'x-fragment': '1' })).status).toBe(401);
  const action = await post(target, `/campaigns/${campaignId}/start`, {}, { cookie });
  expect(action.status).toBe(303);
  expect(action.headers.get('location')).toMatch(/^\/login\?/);
}

describe('signing out', () => {
  it('ends a copy of the cookie taken before sign-out, on pages and on actions', async () => {
    const id = await draftCampaign('copied cookie');
    const cookie = await login(server, server.tokens.operator);
    const copy = cookie;
    expect((await get(server, '/', copy)).status).toBe(200);

    await logout(server, cookie);

    await expectNoSession(server, copy, id);
    expect((await campaignState(server, id)).state).toBe('draft');
    // The refusal was the session's: a fresh sign-in with the same token may act.
    const fresh = await login(server, server.tokens.operator);
    const started = await post(server, `/campaigns/${id}/start`, {}, { cookie: fresh });
    expect(started.status).toBe(303);
    expect(started.headers.get('location')).toBe(`/campaigns/${id}?done=start`);
  });

  it('leaves the token’s other sessions signed in', async () => {
    const id = await draftCampaign('other session');
    const phone = await login(server, server.tokens.operator);
    const laptop = await login(server, server.tokens.operator);

    await logout(server, phone);

    await expectNoSession(server, phone, id);
    expect((await get(server, '/', laptop)).status).toBe(200);
    const started = await post(server, `/campaigns/${id}/start`, {}, { cookie: laptop });
    expect(started.headers.get('location')).toBe(`/campaigns/${id}?done=start`);
  });

  it('ends the session on every server process sharing the database', async () => {
    const id = await draftCampaign('two processes');
    const other = await startServer({ ...server.ctx.config, port: 0 }, { host: '127.0.0.1', log: pino({ level: 'silent' }) });
    const otherServer = { ...server, url: other.url };
    try {
      const signedOutHere = await login(server, server.tokens.operator);
      const signedOutThere = await login(server, server.tokens.operator);
      // One sealed cookie opens on both processes...
      expect((await get(otherServer, '/', signedOutHere)).status).toBe(200);
      expect((await get(otherServer, '/', signedOutThere)).status).toBe(200);

      // ...and a sign-out on either ends it on both.
      await logout(server, signedOutHere);
      await logout(otherServer, signedOutThere);
      for (const target of [server, otherServer]) {
        await expectNoSession(target, signedOutHere, id);
        await expectNoSession(target, signedOutThere, id);
      }
      expect((await campaignState(server, id)).state).toBe('draft');
    } finally {
      await other.close();
    }
  });

  it('signs out twice without a second row, and keeps rows only while their session could still be used', async () => {
    const before = (await revokedRows()).length;
    const old = await login(server, server.tokens.operator);
    await logout(server, old);
    await logout(server, old);
    expect((await revokedRows()).length).toBe(before + 1);

    const later = 12 * 3600 * 1000 + 5 * 60 * 1000;
    expect(later).toBeGreaterThan(SESSION_MAX_MS);
    server.clock.advance(later);
    try {
      const recent = await login(server, server.tokens.operator);
      await logout(server, recent);
      // Every row of a session issued before the jump is gone; only the new one is left.
      const rows = await revokedRows();
      expect(rows.length).toBe(1);
      // A pruned row does not bring the old cookie back: it has expired by then.
      expect((await get(server, '/', old)).status).toBe(303);
    } finally {
      server.clock.advance(-later);
    }
  });
});

describe('cookies that are not a live session', () => {
  it('refuses forged, garbage and pre-revocation cookies, and signing out with them adds no row', async () => {
    const id = await draftCampaign('forged cookies');
    const real = (await login(server, server.tokens.operator)).split('=')[1] ?? '';
    const flipped = `${real.slice(0, 30)}${real[30] === 'A' ? 'B' : 'A'}${real.slice(31)}`;
    // A cookie of the format before sign-out could revoke (no session id), sealed with the
    // real key: it cannot be revoked, so it is not accepted.
    const nonce = nacl.randomBytes(nacl.secretbox.nonceLength);
    const v1 = nacl.secretbox(new TextEncoder().encode(JSON.stringify({ v: 1, token: server.tokens.operator, iat: server.clock.now() })), nonce, server.ctx.vault.deriveKey('console-session'));
    const values = ['', 'abc', flipped, server.tokens.operator, 'A'.repeat(5000), '%00%ff', Buffer.concat([nonce, v1]).toString('base64url')];
    const before = (await revokedRows()).length;
    for (const value of values) {
      const cookie = `fota_console=${value}`;
      await expectNoSession(server, cookie, id);
      await logout(server, cookie);
    }
    expect((await revokedRows()).length).toBe(before);
    expect((await campaignState(server, id)).state).toBe('draft');
    // The real cookie was never signed out: still valid.
    expect((await get(server, '/', `fota_console=${real}`)).status).toBe(200);
  });
});
