// Operator webhooks through a real server and a real receiver on loopback: an admin
// registers a URL and gets its secret once; campaign state changes reach it signed
// (X-Fota-Timestamp, X-Fota-Signature over timestamp.body), a 500 is retried after its
// backoff and each delivery is accepted once; a tampered body or an old timestamp fails
// the receiver's check; the SSRF address rule holds; the secret is never served again
// nor stored in clear.
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deliverDueWebhooks, retryDelayMs } from '../../src/webhooks/deliver.ts';
import { verifyWebhookSignature } from '../../src/webhooks/signature.ts';
import { createTestApi, errorOf } from '../support/api.ts';
import { pseudoRandom } from '../support/harness.ts';
import { ALLOW_LOOPBACK_WEBHOOKS, startTestServer, type TestServer } from '../support/server.ts';
import { selectRows } from '../support/sql.ts';
import { until } from '../support/until.ts';

interface Received {
  headers: IncomingMessage['headers'];
  body: string;
  answered: number;
}

/** A receiver that records every POST and answers each with the next planned status (200 once the plan runs out). */
class Receiver {
  readonly received: Received[] = [];
  plan: number[] = [];
  private server?: Server;
  url = '';

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const answered = this.plan.shift() ?? 200;
        this.received.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8'), answered });
        res.writeHead(answered).end();
      });
    });
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/hooks/fota?token=receiver-own-token`;
  }

  stop(): Promise<void> {
    return new Promise((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  ofType(type: string): Received[] {
    return this.received.filter((r) => r.headers['x-fota-event'] === type);
  }
}

const MODEL = 'hook-model';
let server: TestServer;
let receiver: Receiver;
let secret: string;
let webhookId: string;
let buildId: string;

const json = (method: string, path: string, body: unknown, token: string) =>
  server.api(path, { method, token, body: JSON.stringify(body), headers: { 'content-type': 'application/json' } });

beforeAll(async () => {
  server = await startTestServer({}, { env: ALLOW_LOOPBACK_WEBHOOKS });
  receiver = new Receiver();
  await receiver.start();
  afterAll(() => receiver.stop());
  buildId = (await server.upload(MODEL, '2.0', pseudoRandom(50_000, 'hook-v2'))).id;
  for (const id of ['hook-dev-1', 'hook-dev-2']) {
    const res = await json('POST', '/api/v1/devices', { id, model: MODEL, firmwareVersion: '1.0', tags: ['hooks'], credentials: { username: id, password: 'device-password' } }, server.tokens.operator);
    expect(res.status).toBe(201);
  }
  const res = await json('POST', '/api/v1/webhooks', { url: receiver.url }, server.tokens.admin);
  expect(res.status).toBe(201);
  const created = (await res.json()) as { id: string; secret: string; events: null };
  expect(created.secret).toMatch(/^whsec_[A-Za-z0-9_-]{43}$/);
  expect(created.events).toBeNull();
  ({ secret, id: webhookId } = created);
});

async function campaign(name: string): Promise<string> {
  const res = await json('POST', '/api/v1/campaigns', { name, buildId, cohort: { tags: ['hooks'] }, stages: [{ percent: 50 }, { percent: 100 }] }, server.tokens.operator);
  expect(res.status).toBe(201);
  return ((await res.json()) as { id: string }).id;
}

const act = async (id: string, action: string, reason?: string) => {
  const res = await json('POST', `/api/v1/campaigns/${id}/${action}`, reason ? { reason } : {}, server.tokens.operator);
  expect(res.status, await res.clone().text()).toBe(200);
};

const nowSeconds = () => Math.floor(server.clock.now() / 1000);

describe('operator webhooks', () => {
  it('sends campaign started, stage started, paused with its reason, resumed and cancelled, each signed over timestamp and body', async () => {
    const id = await campaign('hooks one');
    await act(id, 'start');
    await act(id, 'pause', 'carrier asked us to hold');
    await act(id, 'resume');
    await act(id, 'abort', 'wrong build');
    const types = ['campaign.started', 'campaign.stage.started', 'campaign.paused', 'campaign.resumed', 'campaign.cancelled'];
    const mine = () => receiver.received.filter((r) => (JSON.parse(r.body) as { campaign: { id: string } }).campaign.id === id);
    await until('the five events of the campaign', mine, (r) => r.length >= types.length, 20_000);
    expect(mine().map((r) => r.headers['x-fota-event']).sort()).toEqual([...types].sort());
    for (const r of mine()) {
      expect(r.headers['content-type']).toBe('application/json');
      expect(r.headers['x-fota-signature']).toMatch(/^sha256=[0-9a-f]{64}$/);
      expect(verifyWebhookSignature({ secret, body: r.body, timestamp: r.headers['x-fota-timestamp'] as string, signature: r.headers['x-fota-signature'] as string, nowSeconds: nowSeconds() })).toEqual({ ok: true });
    }
    const paused = JSON.parse(mine().find((r) => r.headers['x-fota-event'] === 'campaign.paused')?.body ?? '{}') as { type: string; campaign: { name: string; state: string; pausedReason: string }; details: { reason: string } };
    expect(paused.type).toBe('campaign.paused');
    expect(paused.campaign).toMatchObject({ id, name: 'hooks one', state: 'paused', pausedReason: 'paused by ops: carrier asked us to hold' });
    expect(paused.details.reason).toBe('carrier asked us to hold');
  });

  it('a receiver check fails for a tampered body, another secret, and a timestamp outside the replay window', async () => {
    const [r] = await until('one delivery', () => receiver.received, (all) => all.length > 0, 20_000);
    if (!r) throw new Error('no delivery');
    const timestamp = r.headers['x-fota-timestamp'] as string;
    const signature = r.headers['x-fota-signature'] as string;
    const check = (over: Partial<Parameters<typeof verifyWebhookSignature>[0]>) => verifyWebhookSignature({ secret, body: r.body, timestamp, signature, nowSeconds: Number(timestamp), ...over });
    expect(check({})).toEqual({ ok: true });
    expect(check({ body: r.body.replace('"campaign.', '"Campaign.') })).toEqual({ ok: false, reason: 'signature does not match the body' });
    expect(check({ secret: `${secret}x` })).toEqual({ ok: false, reason: 'signature does not match the body' });
    expect(check({ timestamp: String(Number(timestamp) + 1) })).toEqual({ ok: false, reason: 'signature does not match the body' });
    expect(check({ nowSeconds: Number(timestamp) + 301 })).toEqual({ ok: false, reason: 'timestamp is more than 300 s from now (a replay, or a clock off)' });
    expect(check({ signature: undefined })).toEqual({ ok: false, reason: 'missing or malformed x-fota-signature' });
    expect(check({ timestamp: '12; drop' })).toEqual({ ok: false, reason: 'missing or malformed x-fota-timestamp' });
  });

  it('retries a delivery the receiver answered 500 after its backoff, with the same delivery id, and accepts it once', async () => {
    const id = await campaign('hooks retry');
    receiver.plan = [500];
    const before = receiver.received.length;
    await act(id, 'start');
    await until('the failed first attempt', () => receiver.received.slice(before), (r) => r.some((x) => x.answered === 500), 20_000);
    const failed = receiver.received.slice(before).find((x) => x.answered === 500);
    const deliveryId = failed?.headers['x-fota-delivery'];
    expect(deliveryId).toMatch(/^whd_/);
    const row = async () => (await selectRows(server.ctx.db, `select state, attempts, last_error from webhook_deliveries where id = '${String(deliveryId)}'`))[0] as { state: string; attempts: number; last_error: string | null };
    await until('the failure recorded', row, (r) => r.state === 'pending' && r.last_error !== null, 20_000);
    expect((await row()).last_error).toBe(`webhook at ${new URL(receiver.url).host} answered HTTP 500`);
    // Not before its backoff: the next rounds pass it over until the clock reaches it.
    server.clock.advance(retryDelayMs(1) + 1);
    await until('the retry delivered', row, (r) => r.state === 'delivered', 20_000);
    const attempts = receiver.received.filter((x) => x.headers['x-fota-delivery'] === deliveryId);
    expect(attempts.map((x) => x.answered)).toEqual([500, 200]);
    expect(attempts[1]?.body).toBe(attempts[0]?.body);
    expect((await row()).attempts).toBe(2);
    // Every delivery the receiver accepted, it accepted once.
    const accepted = receiver.received.filter((x) => x.answered === 200).map((x) => x.headers['x-fota-delivery']);
    expect(new Set(accepted).size).toBe(accepted.length);
    await act(id, 'abort');
  });

  it('posts each delivery once when several senders run at the same time (claims skip what another took)', async () => {
    const before = receiver.received.length;
    const id = await campaign('hooks race');
    await act(id, 'start');
    for (let i = 0; i < 8; i++) {
      await act(id, 'pause', `race ${i}`);
      await act(id, 'resume');
    }
    await act(id, 'abort');
    // The server's own sender runs too, on its timer: three senders at once.
    await Promise.all([deliverDueWebhooks(server.ctx), deliverDueWebhooks(server.ctx)]);
    const expected = 2 + 16 + 1;
    const mine = () => receiver.received.slice(before).filter((x) => (JSON.parse(x.body) as { campaign: { id: string } }).campaign.id === id);
    await until('every event of the race campaign', mine, (r) => r.filter((x) => x.answered === 200).length >= expected, 20_000);
    const ids = mine().map((x) => x.headers['x-fota-delivery']);
    expect(ids).toHaveLength(expected);
    expect(new Set(ids).size).toBe(expected);
  });

  it('lists the webhook with its delivery counts and never its secret; the secret is sealed at rest', async () => {
    const res = await server.api('/api/v1/webhooks', { token: server.tokens.admin });
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(text).not.toContain(secret);
    const [listed] = JSON.parse(text) as Array<{ id: string; url: string; deliveries: { delivered: number } }>;
    expect(listed).toMatchObject({ id: webhookId, url: receiver.url });
    expect(listed?.deliveries.delivered).toBeGreaterThan(0);
    const stored = JSON.stringify(await selectRows(server.ctx.db, 'select * from webhooks'));
    expect(stored).not.toContain(secret);
    expect(stored).not.toContain(secret.slice('whsec_'.length));
  });

  it('is for admins only: an operator can neither register, list nor remove webhooks', async () => {
    expect((await json('POST', '/api/v1/webhooks', { url: receiver.url }, server.tokens.operator)).status).toBe(403);
    expect((await server.api('/api/v1/webhooks', { token: server.tokens.operator })).status).toBe(403);
    expect((await server.api(`/api/v1/webhooks/${webhookId}`, { method: 'DELETE', token: server.tokens.operator })).status).toBe(403);
  });

  it('sends only the events a webhook asked for, and nothing to a removed one', async () => {
    const second = new Receiver();
    await second.start();
    afterAll(() => second.stop());
    const res = await json('POST', '/api/v1/webhooks', { url: second.url, events: ['campaign.paused'] }, server.tokens.admin);
    expect(res.status).toBe(201);
    const { id: secondId } = (await res.json()) as { id: string };
    const id = await campaign('hooks filtered');
    await act(id, 'start');
    await act(id, 'pause', 'looking');
    await until('the pause', () => second.received, (r) => r.length > 0, 20_000);
    expect(second.received.map((r) => r.headers['x-fota-event'])).toEqual(['campaign.paused']);
    expect((await server.api(`/api/v1/webhooks/${secondId}`, { method: 'DELETE', token: server.tokens.admin })).status).toBe(204);
    expect((await server.api(`/api/v1/webhooks/${secondId}`, { method: 'DELETE', token: server.tokens.admin })).status).toBe(404);
    await act(id, 'resume');
    await act(id, 'pause', 'again');
    // The first receiver hears the second pause; the removed one does not.
    await until('the second pause at the first receiver', () => receiver.ofType('campaign.paused'), (r) => r.some((x) => x.body.includes('"again"')), 20_000);
    expect(second.received).toHaveLength(1);
    expect(await selectRows(server.ctx.db, `select id from webhook_deliveries where webhook_id = '${secondId}'`)).toEqual([]);
  });
});

describe('operator webhook registration', () => {
  let api: Awaited<ReturnType<typeof createTestApi>>;
  beforeAll(async () => {
    api = await createTestApi();
  });

  it.each([
    ['a loopback address', 'http://127.0.0.1:8080/hook', 'host 127.0.0.1 is a loopback address'],
    ['the cloud metadata service', 'http://169.254.169.254/latest', 'host 169.254.169.254 is a link-local address'],
    ['a private network', 'https://10.1.2.3/hook', 'host 10.1.2.3 is a private address'],
    ['a name that only resolves locally', 'http://localhost:9000/', 'host localhost is a loopback name'],
  ])('refuses %s unless the server allows private webhooks (400)', async (_what, url, why) => {
    const res = await api.request('/api/v1/webhooks', { method: 'POST', token: api.tokens.admin, json: { url } });
    expect(res.status).toBe(400);
    expect((await errorOf(res)).message).toContain(`webhook URL refused: ${why}`);
  });

  it.each([
    ['another scheme', { url: 'file:///etc/passwd' }, 'webhook URL must be http or https, got file'],
    ['credentials in the URL', { url: 'https://user:pw@example.com/' }, 'webhook URL must not contain user:password; put a token in the path or query'],
    ['not a URL', { url: 'not a url' }, 'webhook URL is not a valid absolute URL'],
    ['an unknown event', { url: 'https://example.com/', events: ['campaign.exploded'] }, 'body: events.0'],
    ['an oversized URL', { url: `https://example.com/${'a'.repeat(3000)}` }, 'body: url'],
  ])('refuses %s (400)', async (_what, body, message) => {
    const res = await api.request('/api/v1/webhooks', { method: 'POST', token: api.tokens.admin, json: body });
    expect(res.status).toBe(400);
    expect((await errorOf(res)).message).toContain(message);
  });
});
