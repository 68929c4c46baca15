// `npm run demo` as a newcomer runs it (here with a smaller fleet): the real command in a
// child process, which starts a server, uploads the three esbuild builds, simulates the
// devices, runs the campaign, moves the fleet's DM server in a configuration campaign and enrolls a batch of new devices on a claim credential. It must exit 0 with an outcome that matches the injected
// faults, and deltas must cost a small share of full images. Its server takes the three
// deltas from the fixtures' delta cache (--delta-cache): the story is what is done with
// them; making them is firmware-fixtures.test.ts's subject.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DELTA_CACHE } from '../support/harness.ts';

/**
 * `fota demo --keep` as a user runs it: the JSON summary must come as soon as the story
 * ends, while the server still runs; then Ctrl-C (SIGINT) stops it.
 */
async function demoKept(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string; consoleUrl: string; healthWhileKept: number }> {
  const child = spawn(process.execPath, [resolve('bin/fota.js'), 'demo', '--keep', '--port', '0', ...args], { env: { ...process.env, FOTA_FROM_SOURCE: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => void (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => void (stderr += chunk.toString()));
  const exited = new Promise<number | null>((done) => child.once('exit', (code) => done(code)));
  // The JSON line and the keep notice, before anyone presses Ctrl-C.
  for (;;) {
    const kept = /console at (http:\/\/\S+?)\/ /.exec(stderr);
    if (kept?.[1] && /^\{.*\}$/m.test(stdout)) {
      const health = await fetch(`${kept[1]}/healthz`);
      child.kill('SIGINT');
      return { code: await exited, stdout, stderr, consoleUrl: kept[1], healthWhileKept: health.status };
    }
    if (child.exitCode !== null) return { code: child.exitCode, stdout, stderr, consoleUrl: '', healthWhileKept: 0 };
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe('fota demo', () => {
  it('runs the whole story and ends with a JSON summary that matches the injected faults', async () => {
    const run = await demoKept(['--devices', '60', '--faults', 'install=5%,cut=5%,slow=3%:1m,refuse-writes=5%', '--delta-cache', DELTA_CACHE]);
    expect(run.code, run.stderr.slice(-3000)).toBe(0);
    // The JSON came while the server was still up (the console answered), before Ctrl-C.
    expect(run.healthWhileKept).toBe(200);
    expect(run.stderr).toMatch(/faults injected: install 5% \(\d+ devices?\), cut 5% \(\d+ devices?\), slow 3% \(\d+ devices?\), refuse-writes 5% \(\d+ devices?\)/);
    expect(run.stderr).toContain('stage 1 approved by Arjun (approver)');
    const lines = run.stdout.trim().split('\n');
    const summary = JSON.parse(lines.at(-1) ?? '{}') as Record<string, unknown> & { stages: Array<{ devices: number }> };
    // 5% of 60 is 3 devices, 25% is 15; install faults: round(5% of 36) + round(5% of 24).
    expect(summary).toMatchObject({ devices: 60, succeeded: 57, failed: 3, failuresByCode: { '410': 3 }, outcomeMatches: true, campaign: { state: 'completed' } });
    expect(summary.stages.map((s) => s.devices)).toEqual([3, 12, 45]);
    // Beside the campaign, 20 new devices enrolled from their bootstrap files alone, each
    // left the shared claim, and the claim opens no session for any of them afterwards.
    expect(summary.enrollment).toMatchObject({ claim: 'demo-factory-claim', devices: 20, enrolled: 20, awaitingClaim: 0, claimRefusedAfter: 20 });
    expect(run.stdout).toContain('enrollment: 20 of 20 new devices enrolled from their bootstrap files');
    // Then the DM server moves: a configuration campaign over the same 60 devices, 10%
    // (approval) -> 100%; the devices with locked settings (refuse-writes: round(5% of 36)
    // + round(5% of 24)) fail with Status 425, every other one takes the new address.
    expect(summary.configuration).toMatchObject({ profile: 'dm-server-move@1', node: './DMAcc/fota/AppAddr/1/Addr', state: 'completed', devices: 60, succeeded: 57, failed: 3, byCode: { '425': 3 } });
    expect((summary.configuration as { stages: Array<{ devices: number }> }).stages.map((s) => s.devices)).toEqual([6, 54]);
    expect(run.stderr).toContain('configuration stage 1 approved by Arjun (approver)');
    expect(Number(summary.bytesSent) / Number(summary.fullImageBytes)).toBeLessThan(0.2);
    expect(run.stdout).toContain('outcome: exactly as injected');
    // The server log outlives the temporary data directory, where the summary says.
    expect(summary.serverLog).toMatch(/fota-demo-\w+-server\.log$/);
    expect(existsSync(String(summary.serverLog))).toBe(true);
    expect(run.stdout).toContain(`  server log: ${String(summary.serverLog)}\n`);
    // --keep keeps the data directory too; this test cleans up after itself.
    const dataDir = /data in (\S+);/.exec(run.stderr)?.[1];
    await rm(String(summary.serverLog), { force: true });
    if (dataDir?.includes('fota-demo-')) await rm(dataDir, { recursive: true, force: true });
  }, 300_000);
});
