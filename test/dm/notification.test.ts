import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import fc from 'fast-check';
import { describe, expect, it, onTestFinished } from 'vitest';
import { AppError } from '../../src/errors.ts';
import {
  buildNotification,
  notificationSessionId,
  parseNotification,
  verifyNotification,
  type NotificationInput,
} from '../../src/dm/notification.ts';
import {
  assertWebhookUrl,
  NO_WEBHOOK_REASON,
  NoNotifier,
  WebhookNotifier,
} from '../../src/dm/notifier.ts';

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
    const notifier = new WebhookNotifier({ globalUrl: global.url });
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
    const started = Date.now();
    const result = await new WebhookNotifier({ globalUrl: hook.url, timeoutMs: 200 }).notify({ deviceId: 'd' }, message);
    expect(result).toEqual({ delivered: false, reason: expect.stringMatching(/did not answer within 200 ms/) });
    expect(Date.now() - started).toBeLessThan(5000);
    expect(hook.received).toHaveLength(1);
  });

  it('reports a refused connection', async () => {
    const port = await closedPort();
    const result = await new WebhookNotifier({ globalUrl: `http://127.0.0.1:${port}/hook` }).notify({ deviceId: 'd' }, message);
    expect(result).toEqual({ delivered: false, reason: expect.stringMatching(/unreachable: ECONNREFUSED/) });
  });

  it('reports, rather than throws, an invalid per-device webhook or device id', async () => {
    const notifier = new WebhookNotifier();
    const bad = await notifier.notify({ deviceId: 'd', webhookUrl: 'file:///etc/passwd' }, message);
    expect(bad).toEqual({ delivered: false, reason: expect.stringMatching(/http or https/) });
    const hook = await startServer((res) => res.writeHead(200).end());
    const badId = await notifier.notify({ deviceId: 'dev\r\nx-evil: 1', webhookUrl: hook.url }, message);
    expect(badId).toEqual({ delivered: false, reason: expect.stringMatching(/device id/) });
    expect(hook.received).toHaveLength(0);
  });

  it('uses an injected fetch and reports its failures', async () => {
    const calls: string[] = [];
    const failing: typeof fetch = async (input) => {
      calls.push(String(input));
      throw new Error('no route');
    };
    const result = await new WebhookNotifier({ globalUrl: 'https://hooks.example/p', fetch: failing }).notify(
      { deviceId: 'd' },
      message,
    );
    expect(calls).toEqual(['https://hooks.example/p']);
    expect(result).toEqual({ delivered: false, reason: 'webhook at hooks.example failed: no route' });
  });

  it.each([
    ['a bad global URL', { globalUrl: 'ftp://example.com/' }],
    ['a zero timeout', { timeoutMs: 0 }],
    ['a fractional timeout', { timeoutMs: 1.5 }],
  ])('refuses %s at construction', (_name, options) => {
    expectValidation(() => new WebhookNotifier(options));
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
