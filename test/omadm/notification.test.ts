import { readFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it, onTestFinished } from 'vitest';
import { AppError } from '../../src/errors.ts';
import {
  buildNotification,
  notificationSessionId,
  parseNotification,
  verifyNotification,
  type NotificationInput,
} from '../../src/omadm/notification.ts';
import {
  assertWebhookUrl,
  NO_WEBHOOK_REASON,
  NoNotifier,
  WebhookNotifier,
} from '../../src/omadm/notifier.ts';
import type { ResolveHost } from '../../src/omadm/webhook-address.ts';
import { fakeDns } from '../support/dns.ts';

const text = (value: string): Uint8Array => new TextEncoder().encode(value);
const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');

const vectorInput: NotificationInput = {
  serverId: 'dmsrv',
  serverPassword: 'srvpw',
  nonce: text('serverNonce01'),
  sessionId: 0x1a2b,
  uiMode: 2,
  initiator: 'server',
  version: 11,
};
const vectorHex = 'e3705e2bc555324c29ed776530060e72' + '02e80000001a2b05' + '646d737276';

const expectValidation = (fn: () => unknown): void => {
  let caught: unknown;
  try {
    fn();
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(AppError);
  expect(caught).toMatchObject({ code: 'VALIDATION' });
};

describe('Package 0 notification', () => {
  it('matches the PROTOCOL.md vector', () => {
    expect(hex(buildNotification(vectorInput))).toBe(vectorHex);
  });

  it('defaults to version 11 and a server initiator', () => {
    const { version: _v, initiator: _i, ...rest } = vectorInput;
    expect(hex(buildNotification(rest))).toBe(vectorHex);
  });

  it('parses the vector back into its fields', () => {
    expect(parseNotification(Buffer.from(vectorHex, 'hex'))).toEqual({
      digest: new Uint8Array(Buffer.from('e3705e2bc555324c29ed776530060e72', 'hex')),
      version: 11,
      uiMode: 2,
      initiator: 'server',
      sessionId: 0x1a2b,
      serverId: 'dmsrv',
      vendor: new Uint8Array(),
    });
  });

  it('verifies the vector with the right password and nonce only', () => {
    const bytes = new Uint8Array(Buffer.from(vectorHex, 'hex'));
    expect(verifyNotification(bytes, 'srvpw', text('serverNonce01'))).toBe(true);
    expect(verifyNotification(bytes, 'srvpw2', text('serverNonce01'))).toBe(false);
    expect(verifyNotification(bytes, 'srvpw', text('serverNonce02'))).toBe(false);
  });

  it('refuses a message with any flipped bit, including the future-use bits and vendor bytes', () => {
    const bytes = buildNotification({ ...vectorInput, vendor: new Uint8Array([9, 8, 7]) });
    for (let i = 0; i < bytes.length; i++) {
      const tampered = bytes.slice();
      tampered[i] = (tampered[i] ?? 0) ^ 0x04;
      expect(verifyNotification(tampered, 'srvpw', text('serverNonce01'))).toBe(false);
    }
  });

  it('round-trips every field', () => {
    fc.assert(
      fc.property(
        fc.record({
          serverId: fc.stringMatching(/^[\x20-\x7e]{1,255}$/),
          serverPassword: fc.string(),
          nonce: fc.uint8Array({ maxLength: 32 }),
          sessionId: fc.integer({ min: 0, max: 0xffff }),
          uiMode: fc.constantFrom(0 as const, 1 as const, 2 as const, 3 as const),
          initiator: fc.constantFrom('server' as const, 'client' as const),
          version: fc.integer({ min: 0, max: 1023 }),
          vendor: fc.uint8Array({ maxLength: 64 }),
        }),
        (input) => {
          const bytes = buildNotification(input);
          expect(bytes.length).toBe(24 + input.serverId.length + input.vendor.length);
          const parsed = parseNotification(bytes);
          expect(parsed).toEqual({
            digest: bytes.slice(0, 16),
            version: input.version,
            uiMode: input.uiMode,
            initiator: input.initiator,
            sessionId: input.sessionId,
            serverId: input.serverId,
            vendor: input.vendor,
          });
          expect(verifyNotification(bytes, input.serverPassword, input.nonce)).toBe(true);
        },
      ),
    );
  });

  it('names the session the device will open in uppercase hex without leading zeros', () => {
    expect(notificationSessionId(0x1a2b)).toBe('1A2B');
    expect(notificationSessionId(0x00ff)).toBe('FF');
    expect(notificationSessionId(0)).toBe('0');
  });

  it.each<[string, Partial<NotificationInput>]>([
    ['a negative session id', { sessionId: -1 }],
    ['a session id above 65535', { sessionId: 0x10000 }],
    ['a fractional session id', { sessionId: 1.5 }],
    ['a ui mode of 4', { uiMode: 4 as unknown as 0 }],
    ['a version above 10 bits', { version: 1024 }],
    ['a negative version', { version: -1 }],
    ['an empty server id', { serverId: '' }],
    ['a non-ASCII server id', { serverId: 'dmsrvé' }],
    ['a server id with a control character', { serverId: 'dm\nsrv' }],
    ['a server id longer than 255 bytes', { serverId: 'a'.repeat(256) }],
    ['an unknown initiator', { initiator: 'device' as unknown as 'server' }],
  ])('refuses %s with a validation error', (_name, change) => {
    expectValidation(() => buildNotification({ ...vectorInput, ...change }));
  });

  it('accepts a server id of exactly 255 bytes', () => {
    const bytes = buildNotification({ ...vectorInput, serverId: 'a'.repeat(255) });
    expect(bytes[23]).toBe(255);
    expect(parseNotification(bytes).serverId).toBe('a'.repeat(255));
  });

  it.each<[string, Uint8Array]>([
    ['an empty message', new Uint8Array()],
    ['a message truncated inside the header', new Uint8Array(Buffer.from(vectorHex, 'hex')).subarray(0, 20)],
    ['a message truncated inside the server id', new Uint8Array(Buffer.from(vectorHex, 'hex')).subarray(0, 27)],
    ['a server-id length byte past the end', (() => {
      const bytes = new Uint8Array(Buffer.from(vectorHex, 'hex'));
      bytes[23] = 200;
      return bytes;
    })()],
    ['an empty server id', new Uint8Array(24)],
    ['a non-ASCII server id', (() => {
      const bytes = new Uint8Array(Buffer.from(vectorHex, 'hex'));
      bytes[24] = 0xc3;
      return bytes;
    })()],
  ])('refuses %s: parse throws VALIDATION, verify returns false', (_name, bytes) => {
    expectValidation(() => parseNotification(bytes));
    expect(verifyNotification(bytes, 'srvpw', text('serverNonce01'))).toBe(false);
  });

  it('never throws anything but a validation error on random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        try {
          parseNotification(bytes);
        } catch (error) {
          expect(error).toBeInstanceOf(AppError);
        }
        expect(typeof verifyNotification(bytes, 'srvpw', text('n'))).toBe('boolean');
      }),
    );
  });
});

// --- Notifier ----------------------------------------------------------------------------

interface Received {
  method: string | undefined;
  url: string | undefined;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/** A real loopback HTTP server; `respond` decides what (and whether) to answer. */
async function startServer(respond: (res: ServerResponse) => void): Promise<{ url: string; received: Received[] }> {
  const received: Received[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      received.push({ method: req.method, url: req.url, headers: req.headers, body: Buffer.concat(chunks) });
      respond(res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  onTestFinished(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, received };
}

/** A port that was just open and is now closed, so connecting to it is refused. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('WebhookNotifier', () => {
  const message = buildNotification(vectorInput);

  it('POSTs the exact Package 0 bytes with the content type and device id to the global webhook', async () => {
    const hook = await startServer((res) => res.writeHead(202).end('queued'));
    const notifier = new WebhookNotifier({ globalUrl: `${hook.url}/push?token=s3cret` });
    const result = await notifier.notify({ deviceId: 'IMEI:356938035643809' }, message);
    expect(result).toEqual({ delivered: true, status: 202 });
    expect(hook.received).toHaveLength(1);
    const [request] = hook.received;
    expect(request?.method).toBe('POST');
    expect(request?.url).toBe('/push?token=s3cret');
    expect(request?.headers['content-type']).toBe('application/vnd.syncml.notification');
    expect(request?.headers['x-fota-device-id']).toBe('IMEI:356938035643809');
    expect(hex(new Uint8Array(request?.body ?? []))).toBe(vectorHex);
  });

  it("prefers the device's own webhook over the global one", async () => {
    const global = await startServer((res) => res.writeHead(200).end());
    const own = await startServer((res) => res.writeHead(204).end());
    // Both listen on loopback, which a device webhook may use only with the allow setting.
    const notifier = new WebhookNotifier({ globalUrl: global.url, allowPrivate: true });
    const result = await notifier.notify({ deviceId: 'dev-1', webhookUrl: `${own.url}/hook` }, message);
    expect(result).toEqual({ delivered: true, status: 204 });
    expect(own.received).toHaveLength(1);
    expect(global.received).toHaveLength(0);
  });

  it('reports no webhook when neither the device nor the config has one', async () => {
    const result = await new WebhookNotifier().notify({ deviceId: 'dev-1' }, message);
    expect(result).toEqual({ delivered: false, reason: NO_WEBHOOK_REASON });
  });

  it('reports a 500 answer as not delivered, without the URL path or query', async () => {
    const hook = await startServer((res) => res.writeHead(500).end('boom'));
    const result = await new WebhookNotifier({ globalUrl: `${hook.url}/x?token=s3cret` }).notify({ deviceId: 'd' }, message);
    expect(result.delivered).toBe(false);
    expect(result.delivered ? '' : result.reason).toMatch(/HTTP 500/);
    expect(result.delivered ? '' : result.reason).not.toMatch(/s3cret/);
    expect(hook.received).toHaveLength(1);
  });

  it('does not follow a redirect', async () => {
    const target = await startServer((res) => res.writeHead(200).end());
    const hook = await startServer((res) => res.writeHead(307, { location: `${target.url}/elsewhere` }).end());
    const result = await new WebhookNotifier({ globalUrl: hook.url }).notify({ deviceId: 'd' }, message);
    expect(result).toEqual({ delivered: false, reason: expect.stringMatching(/HTTP 307/) });
    expect(target.received).toHaveLength(0);
  });

  it('gives up on a webhook that never answers after timeoutMs', async () => {
    const hook = await startServer(() => undefined);
    // The hook never answers: any result at all is the notifier giving up on its own.
    const result = await new WebhookNotifier({ globalUrl: hook.url, timeoutMs: 200 }).notify({ deviceId: 'd' }, message);
    expect(result).toEqual({ delivered: false, reason: expect.stringMatching(/did not answer within 200 ms/) });
    expect(hook.received).toHaveLength(1);
  });

  it('reports a refused connection', async () => {
    const port = await closedPort();
    const result = await new WebhookNotifier({ globalUrl: `http://127.0.0.1:${port}/hook` }).notify({ deviceId: 'd' }, message);
    expect(result).toEqual({ delivered: false, reason: expect.stringMatching(/unreachable: ECONNREFUSED/) });
  });

  it('reports, rather than throws, an invalid per-device webhook or device id', async () => {
    const notifier = new WebhookNotifier({ allowPrivate: true });
    const bad = await notifier.notify({ deviceId: 'd', webhookUrl: 'file:///etc/passwd' }, message);
    expect(bad).toEqual({ delivered: false, reason: expect.stringMatching(/http or https/) });
    const hook = await startServer((res) => res.writeHead(200).end());
    const badId = await notifier.notify({ deviceId: 'dev\r\nx-evil: 1', webhookUrl: hook.url }, message);
    expect(badId).toEqual({ delivered: false, reason: expect.stringMatching(/device id/) });
    expect(hook.received).toHaveLength(0);
  });

  it('resolves with an injected lookup and reports its failures', async () => {
    const asked: string[] = [];
    const failing: ResolveHost = async (hostname) => {
      asked.push(hostname);
      throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' });
    };
    const result = await new WebhookNotifier({ globalUrl: 'https://hooks.example/p', lookup: failing }).notify({ deviceId: 'd' }, message);
    expect(asked).toEqual(['hooks.example']);
    expect(result).toEqual({ delivered: false, reason: 'webhook at hooks.example unreachable: ENOTFOUND' });
  });

  it.each([
    ['a bad global URL', { globalUrl: 'ftp://example.com/' }],
    ['a zero timeout', { timeoutMs: 0 }],
    ['a fractional timeout', { timeoutMs: 1.5 }],
  ])('refuses %s at construction', (_name, options) => {
    expectValidation(() => new WebhookNotifier(options));
  });
});

describe('WebhookNotifier: device webhooks only to public addresses, checked at send time', () => {
  const message = buildNotification(vectorInput);
  const portOf = (url: string) => new URL(url).port;

  it('refuses a device webhook whose name resolves to loopback, naming the rule and the setting, and connects to nothing', async () => {
    const hook = await startServer((res) => res.writeHead(204).end());
    const dns = fakeDns({ 'hooks.fleet.example': [['127.0.0.1']] });
    const result = await new WebhookNotifier({ lookup: dns }).notify({ deviceId: 'd', webhookUrl: `http://hooks.fleet.example:${portOf(hook.url)}/push` }, message);
    expect(result).toEqual({ delivered: false, reason: expect.stringMatching(/resolves to 127\.0\.0\.1, a loopback address.*FOTA_WEBHOOK_ALLOW_PRIVATE=true/) });
    expect(hook.received).toHaveLength(0);
  });

  it.each([
    ['one private address among public ones', ['198.51.100.7', '10.1.2.3'], 'private'],
    ['cloud metadata', ['169.254.169.254'], 'link-local'],
    ['IPv4-mapped metadata', ['::ffff:169.254.169.254'], 'link-local'],
    ['IPv6 link-local', ['fe80::1'], 'link-local'],
    ['IPv6 unique local', ['fd12:3456::1'], 'private'],
    ['CGNAT', ['100.64.0.1'], 'shared \\(CGNAT\\)'],
    ['unspecified', ['0.0.0.0'], 'unspecified'],
  ])('refuses a name resolving to %s', async (_name, addresses, category) => {
    const dns = fakeDns({ 'hooks.fleet.example': [addresses] });
    const result = await new WebhookNotifier({ lookup: dns }).notify({ deviceId: 'd', webhookUrl: 'https://hooks.fleet.example/push' }, message);
    expect(result).toEqual({ delivered: false, reason: expect.stringMatching(new RegExp(`, an? ${category} address`)) });
  });

  it('refuses a stored device webhook on a loopback IP (registered before the rule) without a lookup', async () => {
    const hook = await startServer((res) => res.writeHead(204).end());
    const dns = fakeDns({});
    const result = await new WebhookNotifier({ lookup: dns }).notify({ deviceId: 'd', webhookUrl: `${hook.url}/push` }, message);
    expect(result).toEqual({ delivered: false, reason: expect.stringMatching(/host 127\.0\.0\.1 is a loopback address/) });
    expect(hook.received).toHaveLength(0);
    expect(dns.asked).toEqual([]);
  });

  it('connects to the address it checked, keeping the name in the Host header', async () => {
    // The system resolver does not know this name: the hook is reached only through the checked answer.
    const hook = await startServer((res) => res.writeHead(204).end());
    const dns = fakeDns({ 'hooks.fleet.example': [['127.0.0.1']] });
    const result = await new WebhookNotifier({ lookup: dns, allowPrivate: true }).notify({ deviceId: 'd', webhookUrl: `http://hooks.fleet.example:${portOf(hook.url)}/push` }, message);
    expect(result).toEqual({ delivered: true, status: 204 });
    expect(hook.received[0]?.headers.host).toBe(`hooks.fleet.example:${portOf(hook.url)}`);
    expect(dns.asked).toEqual(['hooks.fleet.example']);
  });

  it('does not look the name up a second time, so a rebinding answer never reaches the connection', async () => {
    // First a public address (TEST-NET-2, nothing answers there), then loopback where a hook listens.
    const hook = await startServer((res) => res.writeHead(204).end());
    const dns = fakeDns({ 'rebind.fleet.example': [['198.51.100.20'], ['127.0.0.1']] });
    // Whatever answers (or not) at the public address, the loopback hook is never reached.
    await new WebhookNotifier({ lookup: dns, timeoutMs: 500 }).notify({ deviceId: 'd', webhookUrl: `http://rebind.fleet.example:${portOf(hook.url)}/push` }, message);
    expect(hook.received).toHaveLength(0);
    expect(dns.asked).toEqual(['rebind.fleet.example']);
  });

  it("leaves the operator's global webhook to the operator: it may be on a private address", async () => {
    const hook = await startServer((res) => res.writeHead(202).end());
    const dns = fakeDns({ 'sms-gateway.corp.example': [['127.0.0.1']] });
    const result = await new WebhookNotifier({ globalUrl: `http://sms-gateway.corp.example:${portOf(hook.url)}/`, lookup: dns }).notify({ deviceId: 'd' }, message);
    expect(result).toEqual({ delivered: true, status: 202 });
  });

  it('sends the name as TLS server name (SNI) to the checked address, and checks the certificate', async () => {
    const tls = join(import.meta.dirname, '../fixtures/tls');
    const names: string[] = [];
    const server = createTlsServer({
      key: readFileSync(join(tls, 'hooks.fleet.example.key')),
      cert: readFileSync(join(tls, 'hooks.fleet.example.crt')),
      SNICallback: (name, done) => {
        names.push(name);
        done(null);
      },
    }, (_req, res) => res.writeHead(204).end());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    onTestFinished(() => new Promise<void>((resolve) => server.close(() => resolve())));
    const { port } = server.address() as AddressInfo;
    const dns = fakeDns({ 'hooks.fleet.example': [['127.0.0.1']] });
    const result = await new WebhookNotifier({ lookup: dns, allowPrivate: true }).notify({ deviceId: 'd', webhookUrl: `https://hooks.fleet.example:${port}/push` }, message);
    expect(names).toEqual(['hooks.fleet.example']);
    // The test certificate is self-signed: refused, not silently accepted.
    expect(result).toEqual({ delivered: false, reason: expect.stringMatching(/certificate/) });
  });
});

describe('assertWebhookUrl', () => {
  it.each(['http://127.0.0.1:8080/hook', 'https://sms.example.com/push?token=abc'])('accepts %s', (url) => {
    expect(assertWebhookUrl(url).href).toBe(url);
  });

  it.each([
    ['not a URL', 'not a url'],
    ['a relative path', '/hook'],
    ['file:', 'file:///etc/passwd'],
    ['javascript:', 'javascript:alert(1)'],
    ['ftp:', 'ftp://example.com/'],
    ['credentials in the URL', 'https://user:pw@example.com/hook'],
  ])('refuses %s', (_name, url) => {
    expectValidation(() => assertWebhookUrl(url));
  });

  it('does not echo an unparsable URL, which may hold a token', () => {
    expect(() => assertWebhookUrl('s3cret token')).toThrow(/^(?!.*s3cret)/);
  });
});

describe('NoNotifier', () => {
  it('never delivers and says the device will be reached when it polls', async () => {
    expect(await new NoNotifier().notify()).toEqual({ delivered: false, reason: NO_WEBHOOK_REASON });
  });
});
