// `npm run demo` as a newcomer runs it (here with a smaller fleet): the real command in a
// child process, which starts a server, uploads the three esbuild builds, simulates the
// devices and runs the campaign. It must exit 0 with an outcome that matches the injected
// faults, and deltas must cost a small share of full images. Its server takes the three
// deltas from the fixtures' delta cache (--delta-cache): the story is what is done with
// them; making them is firmware-fixtures.test.ts's subject.
import { describe, expect, it } from 'vitest';
import { fota } from '../support/cli.ts';
import { DELTA_CACHE } from '../support/harness.ts';

describe('fota demo', () => {
  it('runs the whole story and ends with a JSON summary that matches the injected faults', async () => {
    const run = await fota(['demo', '--devices', '60', '--faults', 'install=5%,cut=5%,slow=3%:1m', '--delta-cache', DELTA_CACHE]);
    expect(run.code, run.stderr.slice(-3000)).toBe(0);
    expect(run.stderr).toContain('stage 1 approved by Arjun (approver)');
    const lines = run.stdout.trim().split('\n');
    const summary = JSON.parse(lines.at(-1) ?? '{}') as Record<string, unknown> & { stages: Array<{ devices: number }> };
    // 5% of 60 is 3 devices, 25% is 15; install faults: round(5% of 36) + round(5% of 24).
    expect(summary).toMatchObject({ devices: 60, succeeded: 57, failed: 3, failuresByCode: { '410': 3 }, outcomeMatches: true, campaign: { state: 'completed' } });
    expect(summary.stages.map((s) => s.devices)).toEqual([3, 12, 45]);
    expect(Number(summary.bytesSent) / Number(summary.fullImageBytes)).toBeLessThan(0.2);
    expect(run.stdout).toContain('outcome: exactly as injected');
  }, 300_000);
});
