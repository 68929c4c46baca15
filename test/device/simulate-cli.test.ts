// `fota simulate` as a command (run in this process against a real server on loopback):
// JSON lines when stdout is not a terminal, a JSON summary last, exit codes for
// --until-version, and usage errors decided before anything starts.
import { writeFile } from 'node:fs/promises';
import { type AddressInfo, createServer } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { statusText } from '../../src/cli/simulate.ts';
import { fotaInProcess } from '../support/cli.ts';
import { pseudoRandom, tempDir, tempDirFor } from '../support/harness.ts';
import { ALLOW_LOOPBACK_WEBHOOKS, startTestServer, type TestServer } from '../support/server.ts';

let server: TestServer;
let image: string;

beforeAll(async () => {
  // The simulated devices' webhook listens on 127.0.0.1.
  server = await startTestServer({}, { env: ALLOW_LOOPBACK_WEBHOOKS });
  // One build, so that acme has signing keys to publish.
  expect((await server.upload('cli-model', '1.0.0', pseudoRandom(64 * 1024, 'cli'))).status).toBe('ready');
  image = join(tempDirFor('sim-cli', afterAll), 'image.bin');
  await writeFile(image, pseudoRandom(64 * 1024, 'cli'));
});

const run = (args: string[], interactive = false) => fotaInProcess(args, { interactive });

const fleetArgs = (prefix: string) => ['simulate', '--server', server.url, '--token', server.tokens.operator, '--model', 'cli-model', '--version', '1.0.0', '--image', image, '--manufacturer', 'acme', '--id-prefix', prefix, '--data', join(tempDir(), 'fleet'), '--poll', '3600'];

describe('fota simulate', () => {
  it('prints a JSON line per interval when not on a terminal, and a JSON summary last', async () => {
    const result = await run([...fleetArgs('json-'), '--devices', '3', '--duration', '1.2', '--status-every', '0.3']);
    expect(result.code).toBe(0);
    const lines = result.stdout.trim().split('\n').map((line) => JSON.parse(line) as { type: string; devices: number; byVersion: Record<string, number> });
    expect(lines.length).toBeGreaterThanOrEqual(3);
    expect(lines.slice(0, -1).every((l) => l.type === 'progress' && l.devices === 3)).toBe(true);
    expect(lines.at(-1)).toMatchObject({ type: 'summary', devices: 3, byVersion: { '1.0.0': 3 }, failuresByCode: {}, errors: 0 });
    expect(result.stderr).toContain('registered 3 device(s)');
    const registered = await server.api('/api/v1/devices/json-0003', { token: server.tokens.operator });
    expect(registered.status).toBe(200);
  });

  it('exits 0 once every device runs --until-version, 1 when --duration comes first', async () => {
    const reached = await run([...fleetArgs('until-'), '--devices', '2', '--until-version', '1.0.0', '--duration', '30']);
    expect(reached.code).toBe(0);
    expect(JSON.parse(reached.stdout.trim().split('\n').at(-1) ?? '')).toMatchObject({ type: 'summary', untilVersion: '1.0.0', reached: true });
    const missed = await run([...fleetArgs('missed-'), '--devices', '2', '--until-version', '9.9.9', '--duration', '0.5']);
    expect(missed.code).toBe(1);
    expect(JSON.parse(missed.stdout.trim().split('\n').at(-1) ?? '')).toMatchObject({ untilVersion: '9.9.9', reached: false });
  });

  it('redraws one status line on a terminal', async () => {
    const result = await run([...fleetArgs('tty-'), '--devices', '2', '--duration', '1.5'], true);
    expect(result.code).toBe(0);
    expect(result.stderr).toMatch(/\r\x1b\[2K\[\d+s\] 2 devices \| idle 2/);
    expect(result.stdout.trim().split('\n')).toHaveLength(1); // the summary alone
  });

  it('describes the fleet in one status line', () => {
    const line = statusText({
      elapsedSeconds: 12.3,
      devices: 10,
      states: { idle: 5, queued: 2, session: 1, downloading: 1, installing: 1 },
      byVersion: { '1.10.0': 3, '1.9.0': 7 },
      failuresByCode: { 402: 1 },
      sessions: 20,
      jobs: 4,
      notifications: 4,
      errors: 0,
      bytesDownloaded: 3 * 1048576,
    });
    expect(line).toBe('[12s] 10 devices | idle 5  queued 2  session 1  downloading 1  installing 1 | 1.9.0: 7  1.10.0: 3 | failed 402: 1 | 20 sessions  3.0 MiB');
  });

  it('is listed in the main help and has its own', async () => {
    expect((await run(['--help'])).stdout).toContain('simulate --devices N');
    const help = await run(['simulate', '--help']);
    expect(help).toMatchObject({ code: 0, stdout: expect.stringContaining('Usage: fota simulate --devices N') });
    expect(help.stdout).toContain('oom-download  out of memory for the download: FUMO 501');
  });

  it.each([
    [['--model', 'm', '--version', '1', '--image', 'x', '--pubkey', 'k'], 'missing --devices N'],
    [['--devices', '0', '--model', 'm', '--version', '1', '--image', 'x', '--pubkey', 'k'], '--devices must be a whole number >= 1'],
    [['--devices', '2', '--version', '1', '--image', 'x', '--pubkey', 'k'], 'missing --model M'],
    [['--devices', '2', '--model', 'm', '--version', '1', '--image', 'x'], 'missing --pubkey KEYS.json or --manufacturer NAME'],
    [['--devices', '2', '--model', 'm', '--version', '1', '--image', 'x', '--pubkey', 'k', '--faults', 'cut=2'], '--faults: fault spec "cut=2": cut: share "2" must be'],
    [['--devices', '2', '--model', 'm', '--version', '1', '--image', 'x', '--pubkey', 'k', '--poll', '0'], '--poll must be a positive number of seconds'],
    [['--devices', '2', '--model', 'm', '--version', '1', '--image', 'x', '--pubkey', 'k', '--webhook-port', '70000'], '--webhook-port must be at most 65535'],
    [['--devices', '2', '--model', 'm', '--version', '1', '--image', 'x', '--pubkey', 'k', '--bogus'], 'unknown option --bogus (--help lists the options)'],
    [['--devices', '2', '--model', 'm', '--version', '1', '--image', 'x', '--pubkey', 'k', '--server', 'http://127.0.0.1:1,ftp://127.0.0.1:2'], '--server must be an http:// or https:// URL, got ftp://127.0.0.1:2'],
    [['--devices', '2', '--model', 'm', '--version', '1', '--image', 'x', '--pubkey', 'k', '--server', ','], '--server must name one or more http:// or https:// URLs'],
  ])('refuses %j as a usage error (exit 2)', async (args, message) => {
    const result = await run(['simulate', '--server', 'http://127.0.0.1:1', '--token', 't', ...args]);
    expect(result).toMatchObject({ code: 2, stderr: expect.stringContaining(message) });
  });

  it('says so in one line when the server cannot be reached', async () => {
    // A port nobody listens on (fetch refuses the well-known ones like 1 outright).
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const { port } = closed.address() as AddressInfo;
    await new Promise((resolve) => closed.close(resolve));
    const result = await run(['simulate', '--server', `http://127.0.0.1:${port}`, '--token', 't', '--devices', '1', '--model', 'm', '--version', '1', '--image', image, '--manufacturer', 'acme']);
    expect(result).toMatchObject({ code: 2, stderr: `fota: cannot reach fota server at http://127.0.0.1:${port}: ECONNREFUSED\n` });
  });
});

describe('fota simulate against a server that refuses loopback webhooks', () => {
  let strict: TestServer;
  let keys: string;
  beforeAll(async () => {
    strict = await startTestServer();
    // The keys devices pin come from the other server: this one has no builds.
    keys = join(tempDirFor('sim-cli-keys', afterAll), 'keys.json');
    await writeFile(keys, await (await server.api('/api/v1/manufacturers/acme/keys', { token: server.tokens.operator })).text());
  });

  it('exits 1 with the server\'s reason and a hint: the allow setting, a public webhook address, or --no-webhook', async () => {
    const args = ['simulate', '--server', strict.url, '--token', strict.tokens.operator, '--model', 'cli-model', '--version', '1.0.0', '--image', image, '--pubkey', keys, '--devices', '1', '--data', join(tempDir(), 'fleet'), '--poll', '3600', '--duration', '0.5'];
    const refused = await run([...args, '--id-prefix', 'strict-']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('registering device strict-0001: the server answered 400: webhook URL refused: host 127.0.0.1 is a loopback address');
    expect(refused.stderr).toMatch(/start it\s+with FOTA_WEBHOOK_ALLOW_PRIVATE=true/);
    expect(refused.stderr).toContain('--no-webhook');
    // The hint's way out works: without a webhook the devices register and poll.
    const polling = await run([...args, '--id-prefix', 'poll-', '--no-webhook']);
    expect(polling.code).toBe(0);
    expect(polling.stderr).toContain('registered 1 device(s)');
  });
});
