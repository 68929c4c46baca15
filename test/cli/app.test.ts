// `fota app` and `fota baseline` against a real server on loopback: upload (a delta on the
// second version), list, baseline set and show, a device's applications and a one-off
// operation; refusals exit 1, bad options exit 2.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { fotaInProcess } from '../support/cli.ts';
import { nextBuild, pseudoRandom, tempDirFor } from '../support/harness.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

const MODEL = 'cli-app-phone';
let server: TestServer;
let dir: string;

beforeAll(async () => {
  vi.stubEnv('FOTA_TOKEN', '');
  vi.stubEnv('FOTA_SERVER', '');
  server = await startTestServer();
  dir = tempDirFor('cli-app', afterAll);
  const v1 = pseudoRandom(50_000, 'cli-app-v1');
  await writeFile(join(dir, 'v1.apk'), v1);
  await writeFile(join(dir, 'v2.apk'), nextBuild(v1, 'cli-app-v2'));
}, 60_000);

const as = (token: string) => ['--server', server.url, '--token', token];

describe('fota app and fota baseline', () => {
  it('uploads two versions, lists them, sets and shows a baseline, and schedules an operation', async () => {
    const first = await fotaInProcess(['app', 'upload', join(dir, 'v1.apk'), '--model', MODEL, '--component', 'com.acme.notes', '--version', '1.0', ...as(server.tokens.acme)]);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout.trim()).toMatch(/^app_/);
    const second = await fotaInProcess(['app', 'upload', join(dir, 'v2.apk'), '--model', MODEL, '--component', 'com.acme.notes', '--version', '1.1', ...as(server.tokens.acme)]);
    expect(second.stderr).toMatch(/com\.acme\.notes 1\.1 .*\(full [0-9,]+ ?\w*, delta from 1\.0 /);
    const listed = await fotaInProcess(['app', 'list', '--model', MODEL, ...as(server.tokens.operator)]);
    expect(listed.stdout.split('\n').filter(Boolean)).toHaveLength(2);

    const set = await fotaInProcess(['baseline', 'set', '--model', MODEL, '--app', 'com.acme.notes@1.1', '--forbid', 'com.bad.toolbar', ...as(server.tokens.operator)]);
    expect(set.code, set.stderr).toBe(0);
    expect(set.stdout).toContain('runs: com.acme.notes 1.1');
    expect((await fotaInProcess(['baseline', 'show', '--model', MODEL, ...as(server.tokens.acme)])).stdout).toContain('forbidden: com.bad.toolbar');

    const body = { id: 'cli-app-dev', model: MODEL, credentials: { username: 'cli-app-dev', password: 'device-password' } };
    expect((await server.api('/api/v1/devices', { method: 'POST', token: server.tokens.operator, body: JSON.stringify(body), headers: { 'content-type': 'application/json' } })).status).toBe(201);
    const shown = await fotaInProcess(['app', 'device', 'cli-app-dev', ...as(server.tokens.operator)]);
    expect(shown.stdout).toContain('baseline still asks: install com.acme.notes 1.1');
    const op = await fotaInProcess(['app', 'device', 'cli-app-dev', '--install', 'com.acme.notes@1.0', '--two-step', ...as(server.tokens.operator)]);
    expect(op.code, op.stderr).toBe(0);
    expect(op.stdout.trim()).toMatch(/^sdp_/);
  });

  it("names an application campaign's payload in a device's deployments, not 'configuration'", async () => {
    const body = { id: 'cli-app-camp', model: MODEL, tags: ['cli-app-camp'], credentials: { username: 'cli-app-camp', password: 'device-password' } };
    expect((await server.api('/api/v1/devices', { method: 'POST', token: server.tokens.operator, body: JSON.stringify(body), headers: { 'content-type': 'application/json' } })).status).toBe(201);
    const campaign = { name: 'cli notes', cohort: { model: MODEL, tags: ['cli-app-camp'] }, stages: [{ percent: 100 }], app: { component: 'com.acme.notes', version: '1.1' } };
    const created = await server.api('/api/v1/campaigns', { method: 'POST', token: server.tokens.operator, body: JSON.stringify(campaign), headers: { 'content-type': 'application/json' } });
    expect(created.status, await created.clone().text()).toBe(201);
    const { id } = (await created.json()) as { id: string };
    const started = await server.api(`/api/v1/campaigns/${id}/start`, { method: 'POST', token: server.tokens.operator, body: '{}', headers: { 'content-type': 'application/json' } });
    expect(started.status, await started.clone().text()).toBe(200);
    const shown = await fotaInProcess(['device', 'show', 'cli-app-camp', ...as(server.tokens.operator)]);
    expect(shown.code, shown.stderr).toBe(0);
    const row = shown.stdout.split('\n').find((line) => line.startsWith('dep_'));
    expect(row).toContain('app com.acme.notes@1.1');
    expect(row).not.toContain('configuration');
  });

  it('exits 1 when the server refuses and 2 on bad options', async () => {
    const dup = await fotaInProcess(['app', 'upload', join(dir, 'v1.apk'), '--model', MODEL, '--component', 'com.acme.notes', '--version', '1.0', ...as(server.tokens.acme)]);
    expect(dup.code).toBe(1);
    expect(dup.stderr).toContain('409');
    const wrongRole = await fotaInProcess(['baseline', 'set', '--model', MODEL, ...as(server.tokens.acme)]);
    expect(wrongRole.code).toBe(1);
    expect((await fotaInProcess(['app', 'device', 'x', '--install', 'no-version', ...as(server.tokens.operator)])).code).toBe(2);
    expect((await fotaInProcess(['baseline', 'set', ...as(server.tokens.operator)])).code).toBe(2);
    expect((await fotaInProcess(['app', 'frobnicate'])).code).toBe(2);
  });
});
