// `fota token create` and `fota build upload` run as a user runs them (a child process)
// against a real server started in this process. Starting `fota` costs seconds of CPU, so
// those cases run concurrently, and the ones decided before any request is sent run
// `main` in this process.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { clientFrom } from '../../src/cli/client.ts';
import type { Output } from '../../src/cli/io.ts';
import { main } from '../../src/cli/main.ts';
import { fota } from '../support/cli.ts';
import { closedPort } from '../support/ports.ts';
import { nextBuild, pseudoRandom, tempDirFor } from '../support/harness.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

let server: TestServer;
let dir: string;
const v1 = pseudoRandom(150_000, 'cli-v1');
const v2 = nextBuild(v1);

beforeAll(async () => {
  // A developer's own FOTA_TOKEN or FOTA_SERVER must not leak into the commands.
  vi.stubEnv('FOTA_TOKEN', '');
  vi.stubEnv('FOTA_SERVER', '');
  server = await startTestServer();
  dir = tempDirFor('cli-server', afterAll);
  await writeFile(join(dir, 'v1.bin'), v1);
  await writeFile(join(dir, 'v2.bin'), v2);
  await mkdir(join(dir, 'adir'));
});
afterAll(() => {
  vi.unstubAllEnvs();
});

const upload = (file: string, model: string, version: string, token: string, ...extra: string[]) =>
  fota(['build', 'upload', join(dir, file), '--model', model, '--version', version, '--server', server.url, '--token', token, ...extra]);

/** Runs `fota` in this process, for cases decided before any request is sent. */
async function fotaInProcess(args: string[]) {
  let stdout = '';
  let stderr = '';
  const io: Output = { out: (text) => void (stdout += text), err: (text) => void (stderr += text), interactive: false };
  const code = await main(args, io);
  return { code, stdout, stderr };
}

describe.concurrent('fota token create and build upload', () => {
  it('creates a token that uploads; a first build gets a full package, the next a delta, a repeat is refused', async ({ expect }) => {
    const [created, first] = await Promise.all([
      fota(['token', 'create', '--role', 'manufacturer', '--manufacturer', 'acme', '--name', 'acme release', '--server', server.url, '--token', server.tokens.admin]),
      upload('v1.bin', 'router-cli', '1.0', server.tokens.acme),
    ]);
    expect(created).toMatchObject({ code: 0, stdout: expect.stringMatching(/^token: fota_\S+\nid: tok_\S+\nperson: psn_\S+\n$/) });
    const token = /^token: (\S+)$/m.exec(created.stdout)?.[1] ?? '';
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(/^id: bld_\S+\nbuild bld_\S+: router-cli 1\.0 ready, 1 package \(image 150,000 bytes, sha256 [0-9a-f]{64}\)\n {2}full {2}1\.0 {2}[\d,]+ bytes {2}100% of the full image\n$/);
    // Progress is for people watching, on stderr; stdout stays clean for scripts.
    expect(first.stderr).toMatch(/uploaded v1\.bin: 0\.1 MB in [\d.]+ s, [\d.]+ MB\/s/);
    expect(first.stderr).toMatch(/making packages: 0\/1 done/);
    expect(first.stdout).not.toMatch(/upload|MB\/s|making packages/);

    // The new token is acme's too: it uploads the next build and is refused a repeat.
    const [second, again] = await Promise.all([upload('v2.bin', 'router-cli', '1.1', token), upload('v2.bin', 'router-cli', '1.0', token)]);
    expect(second.code).toBe(0);
    expect(second.stdout).toMatch(/\n {2}full +1\.1 +[\d,]+ bytes {2}100% of the full image\n/);
    expect(second.stdout).toMatch(/\n {2}bsdiff40 {2}1\.0 -> 1\.1 +[\d,]+ bytes {2}[\d.]+% of the full image\n$/);
    expect(again.code).toBe(1);
    expect(again.stderr.trimEnd().split('\n').at(-1)).toBe('fota: server refused (409 CONFLICT): model router-cli already has a build 1.0');
    expect(again.stdout).toBe('');
  });

  it('prints only the build id with --no-wait, and the server goes on to make the packages', async ({ expect }) => {
    const result = await upload('v1.bin', 'router-nowait', '1.0', server.tokens.acme, '--no-wait');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^id: bld_\S+\n$/);
    const id = result.stdout.slice('id: '.length).trim();
    expect(await server.settled(id)).toMatchObject({ status: 'ready', version: '1.0' });
  });

  it("passes on the server's 403 when an operator token tries to upload (exit 1)", async ({ expect }) => {
    const result = await upload('v1.bin', 'router-op', '1.0', server.tokens.operator);
    expect(result.code).toBe(1);
    expect(result.stderr.trimEnd().split('\n').at(-1)).toBe('fota: server refused (403 FORBIDDEN): POST /api/v1/builds is for manufacturer; this token is operator');
    expect(result.stdout).toBe('');
  });

  it('says plainly when no server is listening (exit 2)', async ({ expect }) => {
    const url = `http://127.0.0.1:${await closedPort()}`;
    const result = await fota(['token', 'create', '--role', 'operator', '--name', 'ops', '--server', url, '--token', 'whatever']);
    expect(result).toMatchObject({ code: 2, stdout: '', stderr: `fota: cannot reach fota server at ${url}: connection refused (is fota serve running?)\n` });
  });
});

describe('fota token create and build upload, before any request', () => {
  it('prints help for both commands', async () => {
    expect(await fotaInProcess(['token', '--help'])).toMatchObject({ code: 0, stdout: expect.stringMatching(/^Usage: fota token create --role admin\|manufacturer\|operator/) });
    expect(await fotaInProcess(['build', 'upload', '--help'])).toMatchObject({ code: 0, stdout: expect.stringMatching(/^Usage: fota build upload FILE --model M --version V/) });
  });

  it('takes server and token from FOTA_SERVER and FOTA_TOKEN unless the options say otherwise', () => {
    const env = { FOTA_SERVER: 'https://fota.example/base/', FOTA_TOKEN: 'from-env' };
    expect(clientFrom({}, env)).toEqual({ server: 'https://fota.example/base', token: 'from-env' });
    expect(clientFrom({ server: 'http://other:9000', token: 'from-flag' }, env)).toEqual({ server: 'http://other:9000', token: 'from-flag' });
    expect(clientFrom({ token: 't' }, {})).toEqual({ server: 'http://localhost:8080', token: 't' });
    expect(() => clientFrom({ token: 't' }, { FOTA_SERVER: 'localhost:8080' })).toThrow(/FOTA_SERVER must be an http:\/\/ or https:\/\/ URL/);
    expect(() => clientFrom({ server: 'ftp://x', token: 't' }, {})).toThrow(/--server must be an http:\/\/ or https:\/\/ URL/);
  });

  it('refuses to start without a token (exit 2) and says how to give one', async () => {
    const result = await fotaInProcess(['build', 'upload', join(dir, 'v1.bin'), '--model', 'router-x', '--version', '9', '--server', server.url]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^fota: missing API token: pass --token T or set FOTA_TOKEN\n/);
  });

  it.each([
    ['a missing image', ['build', 'upload', 'NOPE', '--model', 'm', '--version', '1', '--token', 't'], /^fota: cannot read image \S*nope\.bin: no such file\n$/],
    ['a directory as the image', ['build', 'upload', 'ADIR', '--model', 'm', '--version', '1', '--token', 't'], /^fota: image \S*adir is a directory\n$/],
    ['a bad model name', ['build', 'upload', 'V1', '--model', '../m', '--version', '1', '--token', 't'], /^fota: --model must be 1-128 letters/],
    ['an unknown role', ['token', 'create', '--role', 'root', '--name', 'n', '--token', 't'], /^fota: --role must be one of admin, manufacturer, operator, got root/],
    ['a manufacturer token without its manufacturer', ['token', 'create', '--role', 'manufacturer', '--name', 'n', '--token', 't'], /^fota: --role manufacturer needs --manufacturer NAME/],
    ['an unknown subcommand', ['build', 'delete'], /^fota: unknown command: build delete/],
  ])('treats %s as a usage error or unusable input (exit 2)', async (_name, args, message) => {
    const paths: Record<string, string> = { ADIR: join(dir, 'adir'), V1: join(dir, 'v1.bin'), NOPE: join(dir, 'nope.bin') };
    const resolved = args.map((a) => paths[a] ?? a);
    const result = await fotaInProcess(resolved);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(message);
  });
});
