// `fota enroll` against a real server on loopback: create a batch with a claim, export it
// into a directory (files readable by the owner alone) once, list and show it; then the
// real `fota device run --once --bootstrap FILE` flashes a device from its file and claims
// its own credentials. Refusals are exit 1, bad options exit 2.
import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { fota, fotaInProcess } from '../support/cli.ts';
import { pseudoRandom, tempDirFor } from '../support/harness.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

let server: TestServer;
let dir: string;

beforeAll(async () => {
  vi.stubEnv('FOTA_TOKEN', '');
  vi.stubEnv('FOTA_SERVER', '');
  server = await startTestServer();
  dir = tempDirFor('cli-enroll', afterAll);
  await writeFile(join(dir, 'v1.bin'), pseudoRandom(4096, 'cli-enroll'));
  await writeFile(join(dir, 'ids.txt'), '# lot 12\nIMEI:111\nIMEI:222\n\n');
}, 60_000);

const as = (token: string) => ['--server', server.url, '--token', token];

describe('fota enroll', () => {
  it('creates, exports once, lists, and a device flashed from its file claims its own credentials', async () => {
    const created = await fotaInProcess(['enroll', 'create', '--name', 'lot 12', '--model', 'meter-cli', '--devices-file', join(dir, 'ids.txt'), '--claim', 'claim-12', ...as(server.tokens.operator)]);
    expect(created.code, created.stderr).toBe(0);
    const id = created.stdout.trim();
    expect(id).toMatch(/^enb_/);
    expect(created.stderr).toContain('2 meter-cli device(s) on claim claim-12');

    const out = join(dir, 'export');
    const exported = await fotaInProcess(['enroll', 'export', id, '--out', out, ...as(server.tokens.operator)]);
    expect(exported.code, exported.stderr).toBe(0);
    expect(exported.stdout.trim()).toBe(join(out, 'manifest.csv'));
    expect((await readdir(join(out, 'devices'))).sort()).toEqual(['IMEI_111.cp.wbxml', 'IMEI_111.cp.xml', 'IMEI_111.dm.wbxml', 'IMEI_222.cp.wbxml', 'IMEI_222.cp.xml', 'IMEI_222.dm.wbxml']);
    expect((await stat(join(out, 'devices', 'IMEI_111.cp.xml'))).mode & 0o777).toBe(0o600);
    expect(await readFile(join(out, 'manifest.csv'), 'utf8')).toMatch(/^device_id,model,batch,.*\nIMEI:111,meter-cli,enb_/);

    const again = await fotaInProcess(['enroll', 'export', id, '--out', join(dir, 'again'), ...as(server.tokens.operator)]);
    expect(again).toMatchObject({ code: 1, stderr: expect.stringMatching(/exported on .*: its secrets are shown once/) });
    const notEmpty = await fotaInProcess(['enroll', 'export', id, '--out', out, ...as(server.tokens.operator)]);
    expect(notEmpty).toMatchObject({ code: 2, stderr: expect.stringContaining('is not empty') });

    await fotaInProcess(['keys', 'generate', '--out', join(dir, 'k.json')]);
    const run = await fota(['device', 'run', '--once', '--bootstrap', join(out, 'devices', 'IMEI_111.dm.wbxml'), '--id', 'IMEI:111', '--model', 'meter-cli', '--image', join(dir, 'v1.bin'), '--version', '1.0', '--pubkey', join(dir, 'k.pub.json'), '--data', join(dir, 'dev-111')]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toContain('bootstrapped ./DMAcc from');

    const listed = await fotaInProcess(['enroll', 'list', ...as(server.tokens.operator)]);
    expect(listed.stdout).toContain(`${id}  lot 12  meter-cli  2 device(s)  claim claim-12: 1 enrolled, 1 awaiting  exported `);

    // A reset writes that device's fresh files alone; a reason is required.
    expect(await fotaInProcess(['enroll', 'reset', 'IMEI:111', '--out', join(dir, 'reset-0'), ...as(server.tokens.operator)])).toMatchObject({ code: 2, stderr: expect.stringContaining('--reason') });
    const reset = await fotaInProcess(['enroll', 'reset', 'IMEI:111', '--reason', 'lost its secret', '--out', join(dir, 'reset'), ...as(server.tokens.operator)]);
    expect(reset.code, reset.stderr).toBe(0);
    expect(reset.stdout.trim()).toBe(join(dir, 'reset', 'manifest.csv'));
    expect((await readdir(join(dir, 'reset', 'devices'))).sort()).toEqual(['IMEI_111.cp.wbxml', 'IMEI_111.cp.xml', 'IMEI_111.dm.wbxml']);
    expect((await stat(join(dir, 'reset', 'devices', 'IMEI_111.dm.wbxml'))).mode & 0o777).toBe(0o600);
    expect(reset.stderr).toContain('its old credentials no longer work');
    expect(await fotaInProcess(['enroll', 'reset', 'IMEI:111', '--reason', 'x', '--out', join(dir, 'reset-m'), ...as(server.tokens.acme)])).toMatchObject({ code: 1, stderr: expect.stringContaining('is for operator') });
  }, 120_000);

  it('refuses a manufacturer (exit 1) and bad options (exit 2)', async () => {
    expect(await fotaInProcess(['enroll', 'create', '--name', 'x', '--model', 'm', '--count', '1', ...as(server.tokens.acme)])).toMatchObject({ code: 1, stderr: expect.stringContaining('is for operator; this token is manufacturer') });
    expect(await fotaInProcess(['enroll', 'create', '--name', 'x', '--model', 'm', '--count', '1', '--devices', 'a', ...as(server.tokens.operator)])).toMatchObject({ code: 2, stderr: expect.stringContaining('give one of --devices') });
    expect(await fotaInProcess(['enroll', 'create', '--name', 'x', '--model', 'm', '--count', '1', '--subscriber-node', './a/../b', ...as(server.tokens.operator)])).toMatchObject({ code: 1, stderr: expect.stringContaining('must not contain "..') });
    expect(await fotaInProcess(['enroll', 'export', 'enb_unknown', '--out', join(dir, 'x'), ...as(server.tokens.operator)])).toMatchObject({ code: 1, stderr: expect.stringContaining('no enrollment batch enb_unknown') });
  });
});
