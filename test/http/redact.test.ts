// Tokens in request paths, as an attacker (or a sloppy client) would send them: a real
// download token in every spelling that reaches /dl or falls beside it, by GET, HEAD and
// POST, against a real server whose log we read. No log line, response body or header may
// carry the token; the spellings the router serves must still serve the package.
import { createHash } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { beforeAll, describe, expect, it } from 'vitest';
import { redactPath, redactSecrets } from '../../src/http/redact.ts';
import { DOWNLOAD_KEY_PURPOSE, type DownloadGrant, issueDownloadToken } from '../../src/deployments/download-grant.ts';
import { newId } from '../../src/store/ids.ts';
import { insertDeployment } from '../../src/store/queries/deployments.ts';
import { insertDevice } from '../../src/store/queries/devices.ts';
import { pseudoRandom } from '../support/harness.ts';
import { capturedLog, startTestServer, type TestServer } from '../support/server.ts';
import { login } from '../web/console-harness.ts';

/** A download token as the server issues them (the shape is what matters here). */
const SAMPLE = `${Buffer.from(JSON.stringify({ packageId: 'pkg_0', deploymentId: 'dep_0', deviceId: 'dev_0', expiresAt: 1 })).toString('base64url')}.${'s'.repeat(43)}`;
const API_TOKEN = `fota_${'k'.repeat(43)}`;

describe('redactPath', () => {
  it.each([
    ['/dl/T', '/dl/:token'],
    ['//dl//T', '/dl/:token'],
    ['/%64l/T', '/dl/:token'],
    ['/%2564l/T', '/dl/:token'],
    ['/dl%2FT', '/dl/:token'],
    ['/DL/T', '/dl/:token'],
    ['/dl;x/T', '/dl/:token'],
    ['/dl/short-garbage', '/dl/:token'],
    ['/./dl/T/extra', '/dl/:token'],
    ['/x/T', '/x/:token'],
    ['/api/v1/devices/T/operations', '/api/v1/devices/:token/operations'],
    ['/api/v1/devices/A', '/api/v1/devices/:token'],
    ['/%253Fx=A', '/?x=:token'],
  ])('hides the token in %s', (path, shown) => {
    expect(redactPath(path.replace('T', SAMPLE).replace('A', API_TOKEN))).toBe(shown);
  });

  it.each(['/', '/dl', '/dl/', '/healthz', '/api/v1/devices/IMEI:490154203237518', '/devices/acme.router-x.0001', '/campaigns/cmp_0mf3k2x1a0123456789abcdef', '/devices/caf%C3%A9'])('leaves %s as it is', (path) => {
    expect(redactPath(path)).toBe(path);
  });

  it('gives up on a path encoded over and over rather than decode it without end', () => {
    expect(redactPath(`/%${'25'.repeat(20)}64l/x`)).toBe('/:unreadable');
    expect(redactPath(`/%${'25'.repeat(6)}64l/x`)).toBe('/dl/:token');
  });

  it('hides token-shaped runs in free text', () => {
    expect(redactSecrets(`no device ${SAMPLE} (and ${API_TOKEN})`)).toBe('no device :token (and :token)');
  });
});

let server: TestServer;
// Every level: the download code's warn and error lines must be clean too.
const captured = capturedLog('trace');
interface Pkg {
  id: string;
  buildId: string;
  file: Buffer;
}
let pkg: Pkg;
/** A package whose file has gone from the artifact store: the download code logs an error. */
let gone: Pkg;

async function publish(model: string, image: Buffer): Promise<Pkg> {
  const build = await server.upload(model, '1.0', image);
  const full = build.packages.find((p) => p.kind === 'full');
  if (build.status !== 'ready' || !full) throw new Error(`build ${build.id} is ${build.status}`);
  const file = Buffer.from(await (await server.api(`/api/v1/packages/${full.id}/file`, { token: server.tokens.operator })).arrayBuffer());
  return { id: full.id, buildId: build.id, file };
}

beforeAll(async () => {
  server = await startTestServer({}, { log: captured.log });
  pkg = await publish('redact-m', pseudoRandom(50_000, 'redact'));
  gone = await publish('redact-gone', pseudoRandom(5_000, 'redact-gone'));
  await server.ctx.artifacts.delete(createHash('sha256').update(gone.file).digest('hex'));
});

/** A real grant: a device, its deployment of `pkg`, and the token the server would hand it. */
async function issue(options: { of?: Pkg; deployment?: boolean; packageId?: string; expiresAt?: number } = {}): Promise<string> {
  const of = options.of ?? pkg;
  const now = Date.now();
  const deviceId = newId('dev');
  const deploymentId = newId('dep');
  if (options.deployment !== false) {
    await server.ctx.db.transaction(async (tx) => {
      await insertDevice(tx, { id: deviceId, model: 'redact-m', createdAt: now });
      await insertDeployment(tx, { id: deploymentId, deviceId, buildId: of.buildId, packageId: of.id, state: 'commanded', createdAt: now, updatedAt: now });
    });
  }
  const grant: DownloadGrant = { packageId: options.packageId ?? of.id, deploymentId, deviceId, expiresAt: options.expiresAt ?? now + 3_600_000 };
  return issueDownloadToken(server.ctx.vault.deriveKey(DOWNLOAD_KEY_PURPOSE), grant);
}

interface Answer {
  status: number;
  /** Every header name and value, one a line: what the leak check reads. */
  headers: string;
  contentLength: string | undefined;
  body: Buffer;
}

let requests = 0;

/** Sends `target` exactly as written (no URL normalisation on the way), with a request id to find its log line by. */
function send(method: string, target: string, headers: Record<string, string> = {}): Promise<Answer & { requestId: string }> {
  const requestId = `redact-${++requests}`;
  const { hostname, port } = new URL(server.url);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: hostname, port, method, path: target, headers: { 'x-request-id': requestId, ...headers } }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (part: Buffer) => parts.push(part));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.rawHeaders.join('\n'), contentLength: res.headers['content-length'], body: Buffer.concat(parts), requestId }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

/** The request's log line; it is written when the handler returns, which may be just after the client has its answer. */
async function requestLine(requestId: string): Promise<string> {
  for (let waited = 0; waited < 5_000; waited += 10) {
    const line = captured.lines().find((l) => l.includes(`"requestId":"${requestId}"`) && l.includes('"msg":"request"'));
    if (line) return line;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`no request log line for ${requestId}`);
}

/** Whether any 24-character piece of `secret` occurs in `text` (a token cut, shifted or partly encoded still counts). */
function leaks(text: string, secret: string): boolean {
  for (let at = 0; at + 24 <= secret.length; at += 4) if (text.includes(secret.slice(at, at + 24))) return true;
  return false;
}

function expectClean(answer: Answer, secret: string, label: string): void {
  expect(leaks(answer.body.toString('latin1'), secret), `${label}: body`).toBe(false);
  expect(leaks(answer.headers, secret), `${label}: headers`).toBe(false);
}

function expectLogClean(secret: string): void {
  const dirty = captured.lines().filter((l) => leaks(l, secret));
  expect(dirty).toEqual([]);
}

/** `T` stands for the token; `H` for the server's host:port. */
const SERVED = ['/dl/T', '/%64l/T', '/%64%6C/T', '/dl/%2e/T', '/dl/./T', '/./dl/T', '/x/../dl/T', '/dl/T?x=1', '/dl/T#fragment', 'http://H/dl/T'];
const REFUSED = [
  '//dl//T',
  '/dl//T',
  '//dl/T',
  '/dl%2FT',
  '/dl%2fT',
  '/DL/T',
  '/Dl/T',
  '/dl;/T',
  '/dl;x=1/T',
  '/dl%09/T',
  '/%2564l/T',
  '/dl/T/',
  '/dl/T/extra',
  '/dl/T%2Fextra',
  '/dl/T;x',
  '/dl/T%00',
  '/dl/T%',
  '/dl/T\\x',
  '/x/..%2Fdl/T',
  '/T',
  '//T',
  '/x/T',
  '/api/v1/T',
  '/healthz/T',
];
const METHODS = ['GET', 'HEAD', 'POST'] as const;

const target = (form: string, token: string) => form.replace('H', new URL(server.url).host).replace('T', token);

describe('a download token in the path, in every spelling', () => {
  it.each(SERVED)('serves %s by GET and HEAD, refuses POST, and shows the token nowhere', async (form) => {
    const token = await issue();
    for (const method of METHODS) {
      const answer = await send(method, target(form, token));
      if (method === 'GET') {
        expect(answer.status, form).toBe(200);
        expect(answer.body.equals(pkg.file), form).toBe(true);
      } else if (method === 'HEAD') {
        expect(answer.status, form).toBe(200);
        expect(answer.contentLength, form).toBe(String(pkg.file.length));
        expect(answer.body.length, form).toBe(0);
      } else {
        expect(answer.status, form).toBe(404);
      }
      expectClean(answer, token, `${method} ${form}`);
      expect(await requestLine(answer.requestId)).toContain('"path":"/dl/:token"');
    }
    expectLogClean(token);
  });

  it.each(REFUSED)('refuses %s (GET, HEAD, POST) without echoing or logging the token', async (form) => {
    const token = await issue();
    for (const method of METHODS) {
      const answer = await send(method, target(form, token));
      expect(answer.status, `${method} ${form}`).toBeGreaterThanOrEqual(400);
      expect(answer.status, `${method} ${form}`).toBeLessThan(500);
      expectClean(answer, token, `${method} ${form}`);
      // Node's parser refuses a backslash before the app sees the request: no line to read.
      if (!form.includes('\\')) await requestLine(answer.requestId);
    }
    expectLogClean(token);
  });

  it('keeps a token that is cut short, or has one character encoded, out of the log and the body', async () => {
    const token = await issue();
    const forms = [`/dl/${token.slice(0, token.length - 10)}`, `/dl/${token.slice(0, token.indexOf('.'))}`, `/dl/%${token.charCodeAt(0).toString(16)}${token.slice(1)}`, `//dl//${token.slice(5)}`];
    for (const form of forms) {
      for (const method of METHODS) {
        const answer = await send(method, form);
        expectClean(answer, token.slice(1), `${method} ${form}`);
        expect(await requestLine(answer.requestId)).toContain('"path":"/dl/:token"');
      }
    }
    expectLogClean(token.slice(1));
  });

  it('keeps refusals and the download code’s own warnings free of the token (expired, forged, missing package, missing deployment)', async () => {
    const flipped = (t: string) => `${t.slice(0, -3)}${t.at(-3) === 'A' ? 'B' : 'A'}${t.slice(-2)}`;
    const cases = [
      { token: (await issue({ expiresAt: Date.now() - 1 })), status: 403 },
      { token: flipped(await issue()), status: 403 },
      { token: (await issue({ packageId: 'pkg_gone' })), status: 404 },
      // A package whose file is gone from the store: an error line.
      { token: (await issue({ of: gone })), status: 404 },
      // Served, then recorded against a deployment that is not there: a warning.
      { token: (await issue({ deployment: false })), status: 200 },
    ];
    for (const { token, status } of cases) {
      for (const form of ['/dl/T', '/%64l/T', '//dl//T', '/dl/T/extra']) {
        const answer = await send('GET', target(form, token));
        if (form === '/dl/T' || form === '/%64l/T') expect(answer.status, form).toBe(status);
        expectClean(answer, token, form);
        await requestLine(answer.requestId);
      }
      // A range past the end: the 416 text names the size, not the link.
      const beyond = await send('GET', `/dl/${token}`, { range: `bytes=${pkg.file.length + 10}-` });
      expectClean(beyond, token, 'range');
      await requestLine(beyond.requestId);
      expectLogClean(token);
    }
    // The warning and the error were really written (so the checks above looked at them).
    await expect.poll(() => captured.lines().some((l) => l.includes('"level":40') && l.includes('no longer exists'))).toBe(true);
    expect(captured.lines().some((l) => l.includes('"level":50') && l.includes('package file missing'))).toBe(true);
  });
});

describe('a long path', () => {
  it('is cut short in the log and the 404 body', async () => {
    const path = `/${'p'.repeat(12_000)}`;
    const answer = await send('GET', path);
    expect(answer.status).toBe(404);
    expect(answer.body.length).toBeLessThan(1_000);
    const line = await requestLine(answer.requestId);
    expect(line.length).toBeLessThan(1_000);
    expect(line).toContain('(12001 characters)');
  });
});

describe('tokens echoed by other surfaces', () => {
  it('never sends a token back in an API error, signed in or not', async () => {
    const token = await issue();
    for (const secret of [token, server.tokens.operator]) {
      for (const path of ['/api/v1/devices/T', '/api/v1/builds/T', '/api/v1/campaigns/T', '/api/v1/devices/T/operations/T', '/api/v1/manufacturers/T/keys']) {
        for (const bearer of [server.tokens.operator, undefined]) {
          const answer = await send('GET', path.replaceAll('T', secret), bearer ? { authorization: `Bearer ${bearer}` } : {});
          expect(answer.status, path).toBeGreaterThanOrEqual(400);
          expectClean(answer, secret, path);
        }
      }
      expectLogClean(secret);
    }
  });

  it('never puts a token from the address into a console page or its redirects', async () => {
    const token = await issue();
    const cookie = await login(server, server.tokens.operator);
    for (const path of ['/?t=T', '/devices/T', '/builds/T', '/campaigns/T', '/campaigns/T?done=start', `/login?next=${encodeURIComponent('/devices/T')}`, `/login?next=${encodeURIComponent('/?x=T')}`]) {
      for (const session of [cookie, undefined]) {
        const answer = await send('GET', path.replaceAll('T', token), session ? { cookie: session } : {});
        expectClean(answer, token, path);
      }
    }
    // An action on a campaign "named" by a token, signed in: the error page does not echo it.
    const action = await send('POST', `/campaigns/${token}/pause`, { cookie, origin: server.url, 'content-type': 'application/x-www-form-urlencoded' });
    expect(action.status).toBe(404);
    expectClean(action, token, 'action');
    expectLogClean(token);
  });
});

