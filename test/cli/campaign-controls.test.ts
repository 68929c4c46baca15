// `fota campaign` for the campaign controls against a real server: a scheduled start
// (create --start-at, start --at) drawn as "scheduled for ...", forced with a reason,
// modes, the bandwidth budget, install, and rollback's refusal; bad values as exit 2.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { rateOption } from '../../src/cli/campaign.ts';
import type { Output } from '../../src/cli/io.ts';
import { main } from '../../src/cli/main.ts';
import { pseudoRandom } from '../support/harness.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

let server: TestServer;
let buildId: string;

beforeAll(async () => {
  vi.stubEnv('FOTA_TOKEN', '');
  vi.stubEnv('FOTA_SERVER', '');
  server = await startTestServer();
  buildId = (await server.upload('cli-ctl', '2.0', pseudoRandom(30_000, 'cli-ctl'))).id;
});
afterAll(() => {
  vi.unstubAllEnvs();
});

async function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const seen = { stdout: '', stderr: '' };
  const io: Output = { out: (text) => void (seen.stdout += text), err: (text) => void (seen.stderr += text), interactive: false };
  const code = await main([...args, '--server', server.url, '--token', server.tokens.operator], io);
  return { code, ...seen };
}

const lastLine = (text: string) => text.trim().split('\n').at(-1) ?? '';

describe('fota campaign controls', () => {
  it('creates a forced two-step campaign with a budget, scheduled to start later, and draws all of it', async () => {
    const at = new Date(server.clock.now() + 86_400_000);
    at.setUTCMilliseconds(0);
    const created = await run(['campaign', 'create', '--name', 'ctl', '--build', buildId, '--stages', '100', '--mode', 'two-step', '--bandwidth', '8M', '--force', 'security fix', '--start-at', at.toISOString()]);
    expect(created.code, created.stderr).toBe(0);
    const id = lastLine(created.stdout);
    const status = await run(['campaign', 'status', id]);
    expect(status.code).toBe(0);
    expect(status.stdout).toContain(`campaign ${id} "ctl": draft, scheduled for ${at.toISOString()} (fota campaign abort ${id} calls it off)`);
    expect(status.stdout).toContain('  mode: two-step (download at once, install when the window opens)\n');
    expect(status.stdout).toContain('  bandwidth budget: 8,000,000 bytes/s for the whole campaign (per server process)\n');
    expect(status.stdout).toContain('  forced (devices commanded at any time): security fix\n');
    expect((await run(['campaign', 'install', id])).code).toBe(1);
    expect((await run(['campaign', 'abort', id])).code).toBe(0);
  });

  it('schedules a draft with start --at, and refuses a rollback of a campaign that never started (exit 1)', async () => {
    const id = lastLine((await run(['campaign', 'create', '--name', 'ctl2', '--build', buildId, '--stages', '100'])).stdout);
    const at = new Date(server.clock.now() + 3_600_000);
    at.setUTCMilliseconds(0);
    const started = await run(['campaign', 'start', id, '--at', at.toISOString()]);
    expect(started.code, started.stderr).toBe(0);
    expect(started.stdout).toContain(`draft, scheduled for ${at.toISOString()}`);
    expect(await run(['campaign', 'rollback', id])).toMatchObject({ code: 1, stderr: `fota: server refused (409 CONFLICT): campaign ${id} never started; it updated no device\n` });
  });

  it.each([
    [['campaign', 'create', '--name', 'x', '--build', 'b', '--stages', '100', '--mode', 'later'], '--mode must be install, two-step or download-only, got later'],
    [['campaign', 'create', '--name', 'x', '--build', 'b', '--stages', '100', '--bandwidth', 'fast'], '--bandwidth must be bytes per second, e.g. 8M, 500k or 2000000, got fast'],
    [['campaign', 'start', 'cmp_x', '--at', 'tomorrow'], '--at'],
    [['campaign', 'force', 'cmp_x'], '--reason TEXT'],
    [['campaign', 'pause', 'cmp_x', '--at', '2026-12-24T22:00:00Z'], '--at is for fota campaign start'],
  ])('refuses %j (exit 2)', async (args, message) => {
    const result = await run(args);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(message);
  });

  it('reads rates with k, M and G', () => {
    expect([rateOption('500k'), rateOption('8M'), rateOption('1.5G'), rateOption('2000000')]).toEqual([500_000, 8_000_000, 1_500_000_000, 2_000_000]);
  });
});
