// `fota campaign create --confirm TEXT [--confirm-wait DURATION]`: the campaign asks each
// device's user first; the option reaches the server as `confirm`, and bad use is exit 2.
import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import { main } from '../../src/cli/main.ts';
import type { Output } from '../../src/cli/io.ts';
import { nextBuild, pseudoRandom } from '../support/harness.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

let server: TestServer;
let buildId: string;

beforeAll(async () => {
  vi.stubEnv('FOTA_TOKEN', '');
  vi.stubEnv('FOTA_SERVER', '');
  server = await startTestServer();
  const v1 = pseudoRandom(20_000, 'confirm-cli-v1');
  expect((await server.upload('cli-confirm', '1.0', v1)).status).toBe('ready');
  buildId = (await server.upload('cli-confirm', '1.1', nextBuild(v1))).id;
});
afterAll(() => {
  vi.unstubAllEnvs();
});

async function run(args: string[]) {
  let stdout = '';
  let stderr = '';
  const io: Output = { out: (t) => void (stdout += t), err: (t) => void (stderr += t), interactive: false };
  const code = await main([...args, '--server', server.url, '--token', server.tokens.operator], io);
  return { code, stdout, stderr };
}

it('creates a campaign that asks the user first, with how long the device waits', async () => {
  const result = await run(['campaign', 'create', '--name', 'ask', '--build', buildId, '--stages', '100', '--confirm', 'Update tonight?', '--confirm-wait', '2m']);
  expect(result.code, result.stderr).toBe(0);
  const rows = await server.ctx.db.q.select().from(server.ctx.db.t.confirmationPolicies);
  expect(rows).toEqual([expect.objectContaining({ text: 'Update tonight?', maxSeconds: 120, minSeconds: null, defaultResponse: null })]);
});

it('refuses --confirm-wait without --confirm, and an empty text naming the flag', async () => {
  const alone = await run(['campaign', 'create', '--name', 'x', '--build', buildId, '--stages', '100', '--confirm-wait', '2m']);
  expect(alone.code).toBe(2);
  expect(alone.stderr).toContain('--confirm-wait goes with --confirm TEXT');
  const empty = await run(['campaign', 'create', '--name', 'x', '--build', buildId, '--stages', '100', '--confirm', ' ']);
  expect(empty.code).toBe(2);
  expect(empty.stderr).toContain('--confirm');
});
