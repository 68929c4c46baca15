// `fota device query` against a real server on loopback and the reference agent: the
// query line first, then each result printed as the device answers (time read, node,
// Status, value; 404 for a node it lacks), --query to show it again, and the refusals.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Output } from '../../src/cli/io.ts';
import { main } from '../../src/cli/main.ts';
import { DeviceAgent } from '../../src/device/agent.ts';
import { fota } from '../support/cli.ts';
import { pseudoRandom, tempDirFor } from '../support/harness.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

let server: TestServer;
let agent: DeviceAgent;
const ID = 'CLI-Q1';

beforeAll(async () => {
  vi.stubEnv('FOTA_TOKEN', '');
  vi.stubEnv('FOTA_SERVER', '');
  server = await startTestServer();
  const dir = tempDirFor('cli-query', afterAll);
  const res = await server.api('/api/v1/devices', { method: 'POST', token: server.tokens.operator, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ id: ID, model: 'cli-m', credentials: { username: ID, password: 'cli-query-pw' } }) });
  expect(res.status).toBe(201);
  const image = join(dir, 'v1.bin');
  await writeFile(image, pseudoRandom(2048, 'cli-query'));
  agent = await DeviceAgent.open({ serverUrl: server.url, devId: ID, model: 'cli-m', username: ID, password: 'cli-query-pw', dataDir: join(dir, ID), image, version: '3.1', trust: { keys: [] } });
});
afterAll(() => {
  vi.unstubAllEnvs();
});

/** Runs `fota` in this process; `onOut` sees each piece of stdout as it is written. */
async function run(args: string[], onOut: (text: string) => void = () => undefined, token = server.tokens.operator) {
  const seen = { stdout: '', stderr: '', chunks: [] as string[] };
  const io: Output = {
    out: (text) => {
      seen.stdout += text;
      seen.chunks.push(text);
      onOut(text);
    },
    err: (text) => void (seen.stderr += text),
    interactive: false,
  };
  const code = await main([...args, '--server', server.url, '--token', token], io);
  return { code, ...seen };
}

describe('fota device query', () => {
  it('asks, then prints each result as the device answers, with the time read and the Status', async () => {
    let answered: Promise<unknown> | undefined;
    const out = await run(['device', 'query', ID, '--preset', 'versions,serial', '--node', './Vendor/Missing', '--no-wake', '--wait', '--timeout', '60'], (text) => {
      // The device polls only once the query is asked, so every result comes after this line.
      if (text.startsWith('query ')) answered = agent.runOnce();
    });
    await answered;
    expect(out.code, out.stderr).toBe(0);
    expect(out.chunks[0]).toMatch(/^query qry_[a-z0-9]+: waiting for the device to poll\n$/);
    const lines = out.chunks.slice(1).join('').trimEnd().split('\n');
    const line = (uri: string) => lines.find((l) => l.includes(` ${uri} `));
    expect(line('./DevDetail/FwV')).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d+)?  \.\/DevDetail\/FwV  200 OK  3\.1$/);
    expect(line('./DevInfo/DevId')).toMatch(/200 OK  CLI-Q1$/);
    expect(line('./Vendor/Missing')).toMatch(/  \.\/Vendor\/Missing  404 not found$/);
    expect(lines).toHaveLength(5);

    const queryId = /query (qry_[a-z0-9]+)/.exec(out.stdout)?.[1] ?? '';
    const again = await run(['device', 'query', ID, '--query', queryId, '--json']);
    expect(again.code).toBe(0);
    const view = JSON.parse(again.stdout.slice(again.stdout.indexOf('{'))) as { state: string; results: Array<{ uri: string; statusCode: number }> };
    expect(view.state).toBe('done');
    expect(view.results.find((r) => r.uri === './Vendor/Missing')?.statusCode).toBe(404);
  });

  it('fixes a value from a query: prints the Replace and the re-read, not the earlier answers', async () => {
    const asked = await run(['device', 'query', ID, '--preset', 'connectivity', '--no-wake']);
    const queryId = /query (qry_[a-z0-9]+)/.exec(asked.stdout)?.[1] ?? '';
    await agent.runOnce();
    let answered: Promise<unknown> | undefined;
    const out = await run(['device', 'query', ID, '--query', queryId, '--fix', './ConnMO/wlan0/SSID=office-2g', '--wait', '--timeout', '60'], (text) => {
      if (text.startsWith('query ')) answered = agent.runOnce();
    });
    await answered;
    expect(out.code, out.stderr).toBe(0);
    const lines = out.chunks.slice(1).join('').trimEnd().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/  Replace \.\/ConnMO\/wlan0\/SSID  200 OK  office-2g$/);
    expect(lines[1]).toMatch(/  \.\/ConnMO\/wlan0\/SSID  200 OK  office-2g$/);
    expect((await run(['device', 'query', ID, '--fix', './ConnMO/wlan0/SSID=x'])).code).toBe(2);
    expect((await run(['device', 'query', ID, '--query', queryId, '--fix', 'no-equals-sign'])).code).toBe(2);
  });

  it('says how to follow a query it does not wait for', async () => {
    const out = await run(['device', 'query', ID, '--preset', 'log', '--no-wake']);
    expect(out.code).toBe(0);
    expect(out.stdout).toMatch(/1 of 1 still to come: fota device query CLI-Q1 --query qry_[a-z0-9]+ --wait\n$/);
  });

  it('refuses a manufacturer (exit 1), hostile paths (exit 1, the server says why) and bad usage (exit 2)', async () => {
    expect((await run(['device', 'query', ID, '--preset', 'serial'], undefined, server.tokens.acme)).code).toBe(1);
    const hostile = await run(['device', 'query', ID, '--node', './DevInfo/../DMAcc']);
    expect(hostile.code).toBe(1);
    expect(hostile.stderr).toContain('..');
    expect((await run(['device', 'query', ID])).code).toBe(2);
    expect((await run(['device', 'query', 'NOPE', '--preset', 'serial'])).code).toBe(1);
    const real = await fota(['device', 'query', ID, '--preset', 'everything', '--server', server.url, '--token', server.tokens.operator]);
    expect(real.code).toBe(2);
    expect(real.stderr).toContain('unknown preset everything');
  });
});
