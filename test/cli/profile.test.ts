// `fota profile` and `fota campaign create --profile` against a real server on loopback:
// create from a file (a bad file refused before anything is sent, exit 2), list, show,
// apply to a device (refused for another model: exit 1), config, drift, and a
// configuration campaign listed beside firmware ones.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { fotaInProcess } from '../support/cli.ts';
import { tempDirFor } from '../support/harness.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

let server: TestServer;
let dir: string;

beforeAll(async () => {
  vi.stubEnv('FOTA_TOKEN', '');
  vi.stubEnv('FOTA_SERVER', '');
  server = await startTestServer();
  dir = tempDirFor('cli-profile', afterAll);
  for (const [id, model] of [['cli-r1', 'router-cli'], ['cli-c1', 'camera-cli']]) {
    const body = { id, model, firmwareVersion: '1.0', credentials: { username: id, password: 'device-password' } };
    expect((await server.api('/api/v1/devices', { method: 'POST', token: server.tokens.operator, body: JSON.stringify(body), headers: { 'content-type': 'application/json' } })).status).toBe(201);
  }
}, 120_000);

const as = (token: string) => ['--server', server.url, '--token', token];

describe('fota profile', () => {
  it('creates versions from a file, lists, shows, applies, and shows the device\'s configuration', async () => {
    const file = join(dir, 'ops.json');
    await writeFile(file, JSON.stringify([{ command: 'Replace', uri: './DMAcc/fota/AppAddr/1/Addr', data: 'https://dm2.example.net/dm', readFirst: true }]));
    const created = await fotaInProcess(['profile', 'create', '--name', 'dm-move', '--model', 'router-cli', '--file', file, ...as(server.tokens.operator)]);
    expect(created).toMatchObject({ code: 0, stdout: 'dm-move@1\n' });
    expect((await fotaInProcess(['profile', 'create', '--name', 'dm-move', '--model', 'router-cli', '--file', file, ...as(server.tokens.admin)])).stdout).toBe('dm-move@2\n');
    expect((await fotaInProcess(['profile', 'list', ...as(server.tokens.operator)])).stdout).toBe('dm-move@2  router-cli\n');
    const shown = await fotaInProcess(['profile', 'show', 'dm-move@1', ...as(server.tokens.operator)]);
    expect(shown.stdout).toContain('  Replace ./DMAcc/fota/AppAddr/1/Addr = "https://dm2.example.net/dm" [old value read first]');
    const applied = await fotaInProcess(['profile', 'apply', 'dm-move@2', '--device', 'cli-r1', '--no-notify', ...as(server.tokens.operator)]);
    expect(applied.code).toBe(0);
    expect(applied.stdout).toMatch(/^pap_/);
    expect((await fotaInProcess(['profile', 'config', 'cli-r1', ...as(server.tokens.operator)])).stdout).toContain(`${applied.stdout.trim()} device queued: waiting for the device`);
    expect((await fotaInProcess(['profile', 'drift', 'dm-move', '--devices', 'cli-r1', ...as(server.tokens.operator)])).stdout).toContain('drift check queued on 1 device');
  });

  it('refuses a hostile file before sending it (exit 2), and another model\'s device on the server (exit 1)', async () => {
    const file = join(dir, 'bad.json');
    await writeFile(file, JSON.stringify([{ command: 'Replace', uri: './DMAcc/../FUMO/fota/PkgURL', data: 'x' }]));
    const bad = await fotaInProcess(['profile', 'create', '--name', 'evil', '--model', 'router-cli', '--file', file, ...as(server.tokens.operator)]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('must not contain a ".." segment');
    await writeFile(file, '{"operations": [');
    expect((await fotaInProcess(['profile', 'create', '--name', 'evil', '--model', 'router-cli', '--file', file, ...as(server.tokens.operator)])).code).toBe(2);
    const other = await fotaInProcess(['profile', 'apply', 'dm-move@1', '--device', 'cli-c1', ...as(server.tokens.operator)]);
    expect(other.code).toBe(1);
    expect(other.stderr).toContain('is for model router-cli');
    expect((await fotaInProcess(['profile', 'list', ...as(server.tokens.acme)])).code).toBe(1);
  });

  it('creates a configuration campaign with --profile and lists it beside firmware campaigns', async () => {
    const created = await fotaInProcess(['campaign', 'create', '--name', 'move dm', '--profile', 'dm-move@2', '--stages', '10!,100', ...as(server.tokens.operator)]);
    expect(created.code, created.stderr).toBe(0);
    const id = created.stdout.trim();
    expect((await fotaInProcess(['campaign', 'list', ...as(server.tokens.operator)])).stdout).toContain('router-cli -> configuration dm-move@2');
    expect((await fotaInProcess(['campaign', 'status', id, ...as(server.tokens.operator)])).stdout).toContain('(configuration profile)');
    const both = await fotaInProcess(['campaign', 'create', '--name', 'x', '--profile', 'dm-move@2', '--build', 'bld_x', '--stages', '100', ...as(server.tokens.operator)]);
    expect(both.code).toBe(2);
  });
});
