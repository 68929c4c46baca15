// `fota release` against a real server on loopback (create with campaign create's cohort
// and window options, list, withdraw; refusals as exit 1, bad options as exit 2), and
// `fota device run --once --user-request`, the real command, asking for the release.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { fota, fotaInProcess } from '../support/cli.ts';
import { nextBuild, pseudoRandom, tempDirFor } from '../support/harness.ts';
import { type BuildBody, startTestServer, type TestServer } from '../support/server.ts';

const MODEL = 'router-rel';
let server: TestServer;
let dir: string;
let v2: BuildBody;
let v2Image: Buffer;

beforeAll(async () => {
  vi.stubEnv('FOTA_TOKEN', '');
  vi.stubEnv('FOTA_SERVER', '');
  server = await startTestServer();
  dir = tempDirFor('cli-release', afterAll);
  const v1 = pseudoRandom(60_000, 'release-v1');
  v2Image = nextBuild(v1);
  await writeFile(join(dir, 'v1.bin'), v1);
  expect((await server.upload(MODEL, '1.0', v1)).status).toBe('ready');
  v2 = await server.upload(MODEL, '2.0', v2Image);
  await writeFile(join(dir, 'keys.json'), await (await server.api('/api/v1/manufacturers/acme/keys', { token: server.tokens.operator })).text());
  const body = { id: 'cli-dev', model: MODEL, firmwareVersion: '1.0', tags: ['pilot'], credentials: { username: 'cli-dev', password: 'device-password' } };
  expect((await server.api('/api/v1/devices', { method: 'POST', token: server.tokens.operator, body: JSON.stringify(body), headers: { 'content-type': 'application/json' } })).status).toBe(201);
}, 120_000);

const as = (token: string) => ['--server', server.url, '--token', token];

describe('fota release', () => {
  it('creates a release for a tagged cohort with a window, lists it and withdraws it', async () => {
    const created = await fotaInProcess(['release', 'create', '--build', v2.id, '--tags', 'nobody', '--window', 'daily 00:00-00:00 UTC', ...as(server.tokens.operator)]);
    expect(created).toMatchObject({ code: 0, stderr: `released 2.0 (${v2.id}) to model ${MODEL} tagged nobody (window sun,mon,tue,wed,thu,fri,sat 00:00-00:00 UTC)\n` });
    const id = created.stdout.trim();
    expect(id).toMatch(/^rel_/);
    expect((await fotaInProcess(['release', 'list', ...as(server.tokens.operator)])).stdout).toContain(`${id}  ${MODEL} -> 2.0  model ${MODEL} tagged nobody`);
    // A page at a time: the newest first, and the cursor of the next page.
    await fotaInProcess(['release', 'create', '--build', v2.id, '--tags', 'nobody-else', ...as(server.tokens.operator)]);
    const page = await fotaInProcess(['release', 'list', '--limit', '1', ...as(server.tokens.operator)]);
    expect(page.stdout).toContain('tagged nobody-else');
    expect(page.stdout).not.toContain(id);
    expect(page.stderr).toContain('--cursor');
    expect(await fotaInProcess(['release', 'withdraw', id, ...as(server.tokens.operator)])).toMatchObject({ code: 0, stdout: `withdrew release ${id} (2.0); devices that ask are no longer offered it\n` });
    const again = await fotaInProcess(['release', 'withdraw', id, ...as(server.tokens.operator)]);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('already withdrawn');
  });

  it('refuses a manufacturer token (exit 1) and bad options (exit 2)', async () => {
    const refused = await fotaInProcess(['release', 'create', '--build', v2.id, ...as(server.tokens.acme)]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('this token is manufacturer');
    expect((await fotaInProcess(['release', 'create', ...as(server.tokens.operator)])).code).toBe(2);
    expect((await fotaInProcess(['release', 'create', '--build', v2.id, '--window', 'someday', ...as(server.tokens.operator)])).code).toBe(2);
    expect((await fotaInProcess(['release', 'frobnicate'])).code).toBe(2);
  });

  it('a device run with --user-request gets the release in its session (the real commands)', async () => {
    const created = await fota(['release', 'create', '--build', v2.id, '--tags', 'pilot', ...as(server.tokens.operator)]);
    expect(created.code, created.stderr).toBe(0);
    const id = created.stdout.trim();
    const data = join(dir, 'device');
    const run = await fota([
      'device', 'run', '--once', '--user-request', '--server', server.url, '--id', 'cli-dev', '--model', MODEL, '--username', 'cli-dev', '--password', 'device-password',
      '--image', join(dir, 'v1.bin'), '--version', '1.0', '--pubkey', join(dir, 'keys.json'), '--data', data,
    ]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain(`update requested (user): update to 2.0 (release ${id}) follows`);
    expect(run.stdout).toContain('firmware 2.0; FUMO State 100');
    expect((await readFile(join(data, 'slot-b.bin'))).equals(v2Image)).toBe(true);
  }, 60_000);
});
