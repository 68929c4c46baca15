// `fota build list|show|status|download`, `fota package list|download`, `fota device
// list|show|tag` and `fota audit` against a real server on loopback: aligned tables,
// --json, paging with --limit, --cursor and --all, filters as flags, downloads that match
// the server's bytes, refusals as exit 1 and usage mistakes as exit 2. Most cases run
// `main` in this process; a few run the real `fota` command. A hostile server (wrong
// ETag, a cursor that never advances) is refused without a file left behind.
import { readdir, readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Output } from '../../src/cli/io.ts';
import { main } from '../../src/cli/main.ts';
import { fota } from '../support/cli.ts';
import { nextBuild, pseudoRandom, sha256, tempDirFor } from '../support/harness.ts';
import { type BuildBody, startTestServer, type TestServer } from '../support/server.ts';

const MODEL = 'router-lst';
let server: TestServer;
let dir: string;
let v10: BuildBody;
let v11: BuildBody;
let globex: BuildBody;
const devices = Array.from({ length: 12 }, (_, i) => `cli-lst-${String(i).padStart(2, '0')}`);

beforeAll(async () => {
  vi.stubEnv('FOTA_TOKEN', '');
  vi.stubEnv('FOTA_SERVER', '');
  server = await startTestServer();
  dir = tempDirFor('cli-lists', afterAll);
  const image = pseudoRandom(30_000, 'cli-lists');
  v10 = await server.upload(MODEL, '1.0', image);
  v11 = await server.upload(MODEL, '1.1', nextBuild(image));
  globex = await server.upload('router-glx', '7.0', pseudoRandom(10_000, 'glx'), server.tokens.globex);
  for (const [i, id] of devices.entries()) {
    const body = { id, model: MODEL, firmwareVersion: '1.0', tags: i < 3 ? ['lab'] : ['field'], credentials: { username: id, password: 'device-password' } };
    const res = await server.api('/api/v1/devices', { method: 'POST', token: server.tokens.operator, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    expect(res.status).toBe(201);
  }
}, 120_000);
afterAll(() => {
  vi.unstubAllEnvs();
});

/** `fota` in this process, with the server and a token (the operator's unless told). */
async function run(args: string[], token: string = server.tokens.operator) {
  let stdout = '';
  let stderr = '';
  const io: Output = { out: (text) => void (stdout += text), err: (text) => void (stderr += text), interactive: false };
  const code = await main([...args, '--server', server.url, '--token', token], io);
  return { code, stdout, stderr };
}

const lines = (text: string) => text.split('\n').filter((l) => l !== '');

/** Every row's cell under `header` starts where the header does. */
function columnAt(table: string, header: string): string[] {
  const [head = '', ...rows] = lines(table);
  const at = head.indexOf(header);
  expect(at, `${header} in ${head}`).toBeGreaterThanOrEqual(0);
  return rows.map((row) => {
    expect(row[at - 1] ?? ' ', `${header} aligned in ${row}`).toBe(' ');
    return row.slice(at).split(/\s{2,}/)[0] ?? '';
  });
}

describe('fota build', () => {
  it('lists builds as an aligned table, newest first; a manufacturer sees its own', async () => {
    const result = await run(['build', 'list']);
    expect(result).toMatchObject({ code: 0, stderr: '' });
    expect(lines(result.stdout)[0]).toMatch(/^ID +MODEL +VERSION +STATUS +SIZE +CREATED$/);
    expect(columnAt(result.stdout, 'ID')).toEqual([globex.id, v11.id, v10.id]);
    expect(columnAt(result.stdout, 'VERSION')).toEqual(['7.0', '1.1', '1.0']);
    expect(columnAt(result.stdout, 'STATUS')).toEqual(['ready', 'ready', 'ready']);
    const own = await run(['build', 'list'], server.tokens.acme);
    expect(columnAt(own.stdout, 'ID')).toEqual([v11.id, v10.id]);
    expect(columnAt((await run(['build', 'list', '--version', '1.0'])).stdout, 'ID')).toEqual([v10.id]);
  });

  it('pages with --limit and --cursor, says how to get the next page, and follows every page with --all', async () => {
    const first = await run(['build', 'list', '--limit', '1']);
    expect(columnAt(first.stdout, 'ID')).toEqual([globex.id]);
    const cursor = /--cursor (\S+)/.exec(first.stderr)?.[1] ?? '';
    expect(first.stderr).toBe(`more builds: run again with --cursor ${cursor} (or --all for every page)\n`);
    const second = await run(['build', 'list', '--limit', '1', '--cursor', cursor]);
    expect(columnAt(second.stdout, 'ID')).toEqual([v11.id]);
    const all = await run(['build', 'list', '--limit', '1', '--all']);
    expect(all).toMatchObject({ code: 0, stderr: '' });
    expect(columnAt(all.stdout, 'ID')).toEqual([globex.id, v11.id, v10.id]);
    const json = JSON.parse((await run(['build', 'list', '--limit', '2', '--json'])).stdout) as { items: Array<{ id: string }>; nextCursor: string | null };
    expect(json.items.map((b) => b.id)).toEqual([globex.id, v11.id]);
    expect(json.nextCursor).toEqual(expect.any(String));
    const everything = JSON.parse((await run(['build', 'list', '--limit', '1', '--all', '--json'])).stdout) as { items: unknown[]; nextCursor: null };
    expect(everything.items).toHaveLength(3);
    expect(everything.nextCursor).toBeNull();
  });

  it('refuses a bad --limit before asking (exit 2), and a cursor the server never gave (exit 1)', async () => {
    expect(await run(['build', 'list', '--limit', '0'])).toMatchObject({ code: 2, stderr: 'fota: --limit must be a whole number >= 1, got 0\n(see fota --help)\n' });
    expect((await run(['build', 'list', '--limit', '501'])).stderr).toContain('--limit must be at most 500');
    const bad = await run(['build', 'list', '--cursor', 'garbage!']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toBe('fota: server refused (400 VALIDATION): query: cursor is not one this list (builds) gave out; leave it out to start from the first page\n');
  });

  it('shows a build with its packages, and its package readiness with status', async () => {
    const shown = await run(['build', 'show', v11.id]);
    expect(shown.code).toBe(0);
    expect(shown.stdout).toContain(`id:                ${v11.id}\n`);
    expect(shown.stdout).toContain('status:            ready\n');
    const table = shown.stdout.slice(shown.stdout.indexOf('KIND'));
    expect(columnAt(table, 'KIND')).toEqual(['full', 'bsdiff40']);
    expect(columnAt(table, 'VERSIONS')).toEqual(['1.1', '1.0 -> 1.1']);
    expect(columnAt(table, 'PACKAGE').sort()).toEqual(v11.packages.map((p) => p.id).sort());
    const status = await run(['build', 'status', v11.id]);
    expect(status).toMatchObject({ code: 0, stdout: `${v11.id}: ready; 2 packages; package jobs: 2 done, 0 running, 0 queued, 0 failed\n` });
    expect(JSON.parse((await run(['build', 'status', v11.id, '--json'])).stdout)).toMatchObject({ id: v11.id, status: 'ready', jobs: { done: 2 } });
    expect(await run(['build', 'show', globex.id], server.tokens.acme)).toMatchObject({ code: 1, stderr: 'fota: server refused (403 FORBIDDEN): this belongs to another manufacturer\n' });
    expect(await run(['build', 'status'])).toMatchObject({ code: 2 });
  });

  it('downloads the delta from a version, or the full package, byte for byte as the server has it', async () => {
    const delta = v11.packages.find((p) => p.fromVersion === '1.0');
    const out = join(dir, 'delta.fota');
    const got = await run(['build', 'download', v11.id, '--from', '1.0', '--out', out]);
    expect(got).toMatchObject({ code: 0, stdout: `${out}\n` });
    expect(sha256(await readFile(out))).toBe(delta?.sha256);
    const full = await run(['build', 'download', v11.id, '--out', join(dir, 'full.fota')]);
    expect(full.code).toBe(0);
    expect(sha256(await readFile(join(dir, 'full.fota')))).toBe(v11.packages.find((p) => p.kind === 'full')?.sha256);
    const missing = await run(['build', 'download', v11.id, '--from', '0.9', '--out', join(dir, 'x.fota')]);
    expect(missing).toMatchObject({ code: 2, stdout: '' });
    expect(missing.stderr).toContain(`build ${v11.id} (${MODEL} 1.1, ready) has no delta from 0.9; it has deltas from 1.0 and a full package`);
    const nowhere = await run(['build', 'download', v11.id, '--out', join(dir, 'no-such-dir', 'full.fota')]);
    expect(nowhere).toMatchObject({ code: 2, stdout: '' });
    expect(nowhere.stderr).toMatch(/^fota: cannot write \S+no-such-dir\/full\.fota: ENOENT/);
  });
});

describe('fota package', () => {
  it('lists packages by build and kind, and downloads one; another manufacturer gets neither', async () => {
    const listed = await run(['package', 'list', '--build', v11.id, '--kind', 'full']);
    const [id = ''] = columnAt(listed.stdout, 'ID');
    expect(columnAt(listed.stdout, 'VERSIONS')).toEqual(['1.1']);
    const out = join(dir, 'pkg.fota');
    expect(await run(['package', 'download', id, '--out', out])).toMatchObject({ code: 0, stdout: `${out}\n` });
    expect(sha256(await readFile(out))).toBe(v11.packages.find((p) => p.id === id)?.sha256);
    expect((await run(['package', 'list', '--build', v11.id], server.tokens.globex)).stderr).toBe('no packages\n');
    const stolen = await run(['package', 'download', id, '--out', join(dir, 'stolen.fota')], server.tokens.globex);
    expect(stolen).toMatchObject({ code: 1, stderr: 'fota: server refused (403 FORBIDDEN): this belongs to another manufacturer\n' });
    expect(await run(['package', 'download', 'pkg_nope', '--out', join(dir, 'nope.fota')])).toMatchObject({ code: 1, stderr: 'fota: server refused (404 NOT_FOUND): no package pkg_nope\n' });
    expect((await readdir(dir)).filter((f) => f.startsWith('stolen') || f.startsWith('nope'))).toEqual([]);
    expect((await run(['package', 'list', '--kind', 'zip'])).code).toBe(2);
  });
});

describe('fota device', () => {
  it('lists devices by tag and model, pages, and refuses a time it cannot read', async () => {
    const lab = await run(['device', 'list', '--tag', 'lab']);
    expect(lab.code).toBe(0);
    expect(columnAt(lab.stdout, 'ID')).toEqual(devices.slice(0, 3));
    expect(columnAt(lab.stdout, 'TAGS')).toEqual(['lab', 'lab', 'lab']);
    expect(columnAt(lab.stdout, 'LAST SEEN')).toEqual(['-', '-', '-']);
    const all = await run(['device', 'list', '--model', MODEL, '--limit', '5', '--all', '--json']);
    expect((JSON.parse(all.stdout) as { items: Array<{ id: string }> }).items.map((d) => d.id)).toEqual(devices);
    expect(await run(['device', 'list', '--last-seen-before', 'last week'])).toMatchObject({ code: 2 });
    expect(columnAt((await run(['device', 'list', '--last-seen-before', '2030-01-01', '--tag', 'lab'])).stdout, 'ID')).toHaveLength(3);
    expect((await run(['device', 'list'], server.tokens.acme)).code).toBe(1);
  });

  it('tags a device and shows it', async () => {
    const id = devices[5] ?? '';
    expect(await run(['device', 'tag', id, '--add', 'lab,north', '--remove', 'field'])).toMatchObject({ code: 0, stdout: `${id}: lab, north\n` });
    const shown = await run(['device', 'show', id]);
    expect(shown.stdout).toContain('tags:          lab, north\n');
    expect(shown.stdout).toContain('deployments: none\n');
    expect(columnAt((await run(['device', 'list', '--tag', 'north'])).stdout, 'ID')).toEqual([id]);
    expect(await run(['device', 'tag', id])).toMatchObject({ code: 2, stderr: 'fota: name tags to change: --add T1,T2 and/or --remove T3\n(see fota --help)\n' });
    expect(await run(['device', 'tag', 'no-such', '--add', 'x'])).toMatchObject({ code: 1, stderr: 'fota: server refused (404 NOT_FOUND): no device no-such\n' });
  });
});

describe('fota audit', () => {
  it('filters by action and subject, newest first', async () => {
    const id = devices[5] ?? '';
    const result = await run(['audit', '--subject', id]);
    expect(result.code).toBe(0);
    expect(columnAt(result.stdout, 'ACTION')).toEqual(['device.tags', 'device.register']);
    expect(result.stdout).toContain('{"before":["field"],"after":["lab","north"]}');
    const json = JSON.parse((await run(['audit', '--action', 'device.register', '--limit', '2', '--json'])).stdout) as { items: Array<{ action: string }>; nextCursor: string };
    expect(json.items.map((e) => e.action)).toEqual(['device.register', 'device.register']);
    expect(json.nextCursor).toEqual(expect.any(String));
    expect((await run(['audit'], server.tokens.acme)).stderr).toBe('fota: server refused (403 FORBIDDEN): GET /api/v1/audit is for admin or operator; this token is manufacturer\n');
  });
});

describe('the real fota command', () => {
  it('lists builds, devices with --all, and downloads a package', async () => {
    const auth = ['--server', server.url, '--token', server.tokens.operator];
    const builds = await fota(['build', 'list', ...auth]);
    expect(builds).toMatchObject({ code: 0, stderr: '' });
    expect(columnAt(builds.stdout, 'ID')).toEqual([globex.id, v11.id, v10.id]);
    const listed = await fota(['device', 'list', '--tag', 'field', '--limit', '2', '--all', ...auth]);
    expect(listed.code).toBe(0);
    expect(columnAt(listed.stdout, 'ID')).toEqual(devices.slice(3).filter((d) => d !== devices[5]));
    const out = join(dir, 'real.fota');
    const got = await fota(['package', 'download', v10.packages[0]?.id ?? '', '--out', out, ...auth]);
    expect(got).toMatchObject({ code: 0, stdout: `${out}\n` });
    expect(sha256(await readFile(out))).toBe(v10.packages[0]?.sha256);
    expect(await fota(['build', 'frobnicate', ...auth])).toMatchObject({ code: 2 });
  });
});

describe('a hostile server', () => {
  let hostile: Server;
  let url = '';
  beforeAll(async () => {
    hostile = createServer((req, res) => {
      if (req.url?.startsWith('/api/v1/packages/')) {
        // Bytes that do not hash to what the ETag names.
        res.writeHead(200, { 'content-type': 'application/octet-stream', etag: `"${'0'.repeat(64)}"` });
        res.end(Buffer.from('not the package'));
      } else {
        // A cursor that never moves on.
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ items: [{ id: 'b', model: 'm', version: '1', sha256: 'x', size: 1, securityVersion: 0, status: 'ready', failureReason: null, createdAt: '2026-01-01T00:00:00Z', readyAt: null }], nextCursor: 'same' }));
      }
    });
    await new Promise<void>((done) => hostile.listen(0, '127.0.0.1', done));
    url = `http://127.0.0.1:${(hostile.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((done) => hostile.close(() => done())));

  it('refuses a download whose bytes are not the ones named, leaving no file', async () => {
    const out = join(dir, 'tampered.fota');
    const io: Output = { out: () => undefined, err: () => undefined, interactive: false };
    let stderr = '';
    io.err = (text) => void (stderr += text);
    expect(await main(['package', 'download', 'pkg_x', '--out', out, '--server', url, '--token', 't'], io)).toBe(2);
    expect(stderr).toContain('hashes to');
    expect((await readdir(dir)).filter((f) => f.startsWith('tampered'))).toEqual([]);
  });

  it('stops --all when the server hands back the same cursor', async () => {
    let stderr = '';
    const io: Output = { out: () => undefined, err: (text) => void (stderr += text), interactive: false };
    expect(await main(['build', 'list', '--all', '--cursor', 'same', '--server', url, '--token', 't'], io)).toBe(2);
    expect(stderr).toContain('same cursor again');
  });
});
