// The offline-signing workflow at the command line, against a real server on loopback:
// `fota keys generate|root` and `fota build sign` offline, `fota keys register|policy|
// show|revoke`, and `fota build upload --statement`; refusals name what to do, and a key
// file is never sent.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { fota, fotaInProcess } from '../support/cli.ts';
import { nextBuild, pseudoRandom, tempDirFor } from '../support/harness.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

const MODEL = 'router-off';
let server: TestServer;
let dir: string;
const as = (token: string) => ['--server', server.url, '--token', token];
const key = (i: number, pub = false) => join(dir, `offline-${i}${pub ? '.pub' : ''}.json`);
const v1 = pseudoRandom(40_000, 'cli-offline-1');
const v2 = nextBuild(v1);

beforeAll(async () => {
  vi.stubEnv('FOTA_TOKEN', '');
  vi.stubEnv('FOTA_SERVER', '');
  server = await startTestServer();
  dir = tempDirFor('cli-offline', afterAll);
  await writeFile(join(dir, 'v1.bin'), v1);
  await writeFile(join(dir, 'v2.bin'), v2);
  for (const i of [1, 2, 3]) expect((await fotaInProcess(['keys', 'generate', '--out', key(i)])).code).toBe(0);
}, 120_000);

describe('fota keys and fota build sign, with a server', () => {
  it('registers a root, requires offline signing, and uploads a signed build; an unsigned one is refused with the fix', async () => {
    const root = join(dir, 'root.json');
    const made = await fotaInProcess(['keys', 'root', '--manufacturer', 'acme', '--threshold', '2', '--pubkey', key(1, true), '--pubkey', key(2, true), '--pubkey', key(3, true), '--sign', key(1), '--sign', key(2), '--out', root]);
    expect(made).toMatchObject({ code: 0, stdout: expect.stringMatching(/root version 1 of acme, 2 of 3 key\(s\) must sign/) });

    const secret = await fotaInProcess(['keys', 'register', key(1), ...as(server.tokens.acme)]);
    expect(secret.code).toBe(2);
    expect(secret.stderr).toMatch(/holds a secret key; register the signed root/);

    const before = await fotaInProcess(['keys', 'show', 'acme', ...as(server.tokens.operator)]);
    expect(before.stdout).toMatch(/server-held keys only \(quick start\): the server can sign any image/);
    expect((await fotaInProcess(['keys', 'register', root, ...as(server.tokens.globex)])).code).toBe(1);
    const registered = await fotaInProcess(['keys', 'register', root, ...as(server.tokens.acme)]);
    expect(registered.code, registered.stderr).toBe(0);
    expect(registered.stdout).toMatch(/acme: offline keys, root version 1, 2 of 3 must sign each target statement/);
    expect((await fotaInProcess(['keys', 'policy', 'acme', '--require-offline-signing', ...as(server.tokens.operator)])).code).toBe(1);
    expect((await fotaInProcess(['keys', 'policy', 'acme', '--require-offline-signing', ...as(server.tokens.acme)])).stdout).toMatch(/require offline signing: yes/);

    const unsigned = await fotaInProcess(['build', 'upload', join(dir, 'v1.bin'), '--model', MODEL, '--version', '1.0', ...as(server.tokens.acme)]);
    expect(unsigned.code).toBe(1);
    expect(unsigned.stderr).toMatch(/422 INTEGRITY.*requires offline signing.*fota build sign IMAGE --key KEY.json --manufacturer acme --model router-off --version 1.0/);

    const signed = await fotaInProcess(['build', 'sign', join(dir, 'v1.bin'), '--key', key(2), '--key', key(3), '--manufacturer', 'acme', '--model', MODEL, '--version', '1.0', '--security-version', '2']);
    expect(signed.code, signed.stderr).toBe(0);
    // The real command, as a CI job runs it: the statement travels in a header.
    const uploaded = await fota(['build', 'upload', join(dir, 'v1.bin'), '--model', MODEL, '--version', '1.0', '--statement', join(dir, 'v1.bin.target.json'), ...as(server.tokens.acme)]);
    expect(uploaded.code, uploaded.stderr).toBe(0);
    expect(uploaded.stdout).toMatch(/router-off 1.0 ready, 1 package/);

    // A statement for one image sent with another: refused locally, before any byte goes.
    const wrong = await fotaInProcess(['build', 'upload', join(dir, 'v2.bin'), '--model', MODEL, '--version', '2.0', '--statement', join(dir, 'v1.bin.target.json'), ...as(server.tokens.acme)]);
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toMatch(/is for router-off 1.0, not router-off 2.0/);
  });

  it('revokes a key on the server: statements it signed no longer count there', async () => {
    const keyid = (JSON.parse(await readFile(key(3, true), 'utf8')) as { keyid: string }).keyid;
    const revoked = await fotaInProcess(['keys', 'revoke', keyid, '--manufacturer', 'acme', ...as(server.tokens.acme)]);
    expect(revoked.code, revoked.stderr).toBe(0);
    expect(revoked.stdout).toContain(`${keyid}  revoked`);
    await fotaInProcess(['build', 'sign', join(dir, 'v2.bin'), '--key', key(2), '--key', key(3), '--manufacturer', 'acme', '--model', MODEL, '--version', '2.0', '--security-version', '2']);
    const refused = await fotaInProcess(['build', 'upload', join(dir, 'v2.bin'), '--model', MODEL, '--version', '2.0', '--statement', join(dir, 'v2.bin.target.json'), ...as(server.tokens.acme)]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/1 valid signature\(s\) from trusted keys, 2 required/);
    const show = await fotaInProcess(['keys', 'show', 'acme', '--json', ...as(server.tokens.operator)]);
    expect(JSON.parse(show.stdout)).toMatchObject({ mode: 'offline', rootVersion: 1, requireOfflineSigning: true });
  });

  it('refuses usage mistakes of fota build sign', async () => {
    expect((await fotaInProcess(['build', 'sign', join(dir, 'v1.bin'), '--manufacturer', 'acme', '--model', MODEL, '--version', '1'])).stderr).toMatch(/missing --key/);
    expect((await fotaInProcess(['build', 'sign', join(dir, 'v1.bin'), '--key', key(1, true), '--manufacturer', 'acme', '--model', MODEL, '--version', '1'])).stderr).toMatch(/is accessible by others/);
    expect((await fotaInProcess(['build', 'sign', join(dir, 'v1.bin'), '--key', key(1), '--manufacturer', 'acme', '--model', MODEL, '--version', '1', '--expires', 'soon'])).stderr).toMatch(/--expires must be an ISO 8601 time/);
  });
});
