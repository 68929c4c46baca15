// Device webhooks and the address rule, through real HTTP against running servers:
// registration refuses hosts on loopback, link-local, private and other non-public
// addresses (and credentials, and other schemes) with a 400 naming the rule and the
// setting; FOTA_WEBHOOK_ALLOW_PRIVATE=true lets them in; and a name that passes
// registration but resolves to loopback is refused again when Package 0 is sent.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { WebhookNotifier } from '../../src/omadm/notifier.ts';
import { fakeDns } from '../support/dns.ts';
import { ALLOW_LOOPBACK_WEBHOOKS, startTestServer, type TestServer } from '../support/server.ts';

let count = 0;
async function register(server: TestServer, webhookUrl: string): Promise<{ id: string; res: Response; body: Record<string, unknown> }> {
  count += 1;
  const id = `hook-dev-${count}`;
  const res = await server.api('/api/v1/devices', {
    method: 'POST',
    token: server.tokens.operator,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ id, model: 'X100', credentials: { username: id, password: 'device-password' }, webhookUrl }),
  });
  return { id, res, body: (await res.json()) as Record<string, unknown> };
}

async function notify(server: TestServer, id: string) {
  const res = await server.api(`/api/v1/devices/${encodeURIComponent(id)}/notify`, { method: 'POST', token: server.tokens.operator });
  expect(res.status).toBe(200);
  return (await res.json()) as { delivered: boolean; reason?: string; status?: number };
}

/** A loopback HTTP server that records request paths and answers as told. */
async function hook(answer: (path: string) => { status: number; headers?: Record<string, string> } = () => ({ status: 204 })) {
  const received: string[] = [];
  const server: Server = createServer((req, res) => {
    received.push(req.url ?? '');
    req.resume();
    req.on('end', () => {
      const { status, headers } = answer(req.url ?? '');
      res.writeHead(status, headers).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  onTestFinished(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return { port: (server.address() as AddressInfo).port, received };
}

describe('device registration with the rule (default)', () => {
  let server: TestServer;
  const dns = fakeDns({ 'hooks.fleet.example': [['127.0.0.1']] });
  beforeAll(async () => {
    // The server's own notifier, with a stand-in for DNS (no DNS server runs here).
    server = await startTestServer({}, { notifier: new WebhookNotifier({ lookup: dns }) });
  });

  it.each([
    ['loopback', 'http://127.0.0.1:9000/push', 'host 127.0.0.1 is a loopback address'],
    ['loopback, written as one number', 'http://2130706433/push', 'host 127.0.0.1 is a loopback address'],
    ['IPv6 loopback', 'http://[::1]:9000/push', 'host ::1 is a loopback address'],
    ['IPv4-mapped loopback', 'http://[::ffff:127.0.0.1]/push', 'host ::ffff:7f00:1 is a loopback address'],
    ['localhost', 'http://localhost:9000/push', 'host localhost is a loopback name'],
    ['a name under localhost', 'https://hooks.localhost/push', 'host hooks.localhost is a loopback name'],
    ['cloud metadata', 'http://169.254.169.254/latest/meta-data/', 'host 169.254.169.254 is a link-local address'],
    ['IPv4-mapped metadata', 'http://[::ffff:169.254.169.254]/', 'host ::ffff:a9fe:a9fe is a link-local address'],
    ['IPv6 link-local', 'http://[fe80::1]/push', 'host fe80::1 is a link-local address'],
    ['10/8', 'http://10.0.0.5/push', 'host 10.0.0.5 is a private address'],
    ['172.16/12', 'http://172.20.1.1/push', 'host 172.20.1.1 is a private address'],
    ['192.168/16', 'https://192.168.0.10/push', 'host 192.168.0.10 is a private address'],
    ['IPv6 unique local', 'http://[fd00::5]/push', 'host fd00::5 is a private address'],
    ['unspecified IPv4', 'http://0.0.0.0:9000/push', 'host 0.0.0.0 is an unspecified address'],
    ['unspecified IPv6', 'http://[::]:9000/push', 'host :: is an unspecified address'],
    ['CGNAT', 'http://100.64.1.1/push', 'host 100.64.1.1 is a shared (CGNAT) address'],
  ])('refuses a webhook on %s with a 400 naming the rule and the setting', async (_name, url, why) => {
    const { id, res, body } = await register(server, url);
    expect(res.status).toBe(400);
    expect(body.error).toMatchObject({ code: 'VALIDATION', rule: 'webhook-address', setting: 'FOTA_WEBHOOK_ALLOW_PRIVATE' });
    const message = (body.error as { message: string }).message;
    expect(message).toContain(`webhook URL refused: ${why}`);
    expect(message).toContain('unless the server runs with FOTA_WEBHOOK_ALLOW_PRIVATE=true');
    expect((await server.api(`/api/v1/devices/${id}`, { token: server.tokens.operator })).status).toBe(404);
  });

  it.each([
    ['credentials in the URL', 'https://user:pw@hooks.fleet.example/push', /user:password/],
    ['another scheme', 'ftp://hooks.fleet.example/push', /webhookUrl/],
    ['a file URL', 'file:///etc/passwd', /webhookUrl/],
  ])('refuses %s', async (_name, url, message) => {
    const { res, body } = await register(server, url);
    expect(res.status).toBe(400);
    expect((body.error as { message: string }).message).toMatch(message);
  });

  it('registers a webhook on a public-looking name', async () => {
    const { res } = await register(server, 'https://sms.example.com/push?token=abc');
    expect(res.status).toBe(201);
  });

  it('refuses to send Package 0 to a registered name that resolves to loopback, and connects to nothing', async () => {
    const target = await hook();
    const { id, res } = await register(server, `http://hooks.fleet.example:${target.port}/push`);
    expect(res.status).toBe(201);
    const outcome = await notify(server, id);
    expect(outcome).toMatchObject({ delivered: false, reason: expect.stringMatching(/resolves to 127\.0\.0\.1, a loopback address.*FOTA_WEBHOOK_ALLOW_PRIVATE=true/) });
    expect(dns.asked).toContain('hooks.fleet.example');
    expect(target.received).toEqual([]);
  });
});

describe('device registration with FOTA_WEBHOOK_ALLOW_PRIVATE=true', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({}, { env: ALLOW_LOOPBACK_WEBHOOKS });
  });

  it.each(['http://127.0.0.1:9000/push', 'http://localhost:9000/push', 'http://169.254.169.254/', 'http://[fd00::5]/push'])('registers %s', async (url) => {
    expect((await register(server, url)).res.status).toBe(201);
  });

  it('still refuses credentials in the URL', async () => {
    const { res } = await register(server, 'http://user:pw@127.0.0.1:9000/push');
    expect(res.status).toBe(400);
  });

  it('sends Package 0 to a loopback webhook, and does not follow its redirect', async () => {
    const elsewhere = await hook();
    const target = await hook((path) => (path === '/moved' ? { status: 307, headers: { location: `http://127.0.0.1:${elsewhere.port}/metadata` } } : { status: 204 }));
    const { id } = await register(server, `http://127.0.0.1:${target.port}/push`);
    expect(await notify(server, id)).toMatchObject({ delivered: true, status: 204 });
    const moved = await register(server, `http://127.0.0.1:${target.port}/moved`);
    expect(await notify(server, moved.id)).toMatchObject({ delivered: false, reason: expect.stringMatching(/answered HTTP 307/) });
    expect(target.received).toEqual(['/push', '/moved']);
    expect(elsewhere.received).toEqual([]);
  });
});
