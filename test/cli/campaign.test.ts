// `fota campaign` against a real server on loopback: preview and dry runs, create and
// start, the status drawing, approve / pause / resume / abort, the server's refusals
// (wrong role, wrong state, four eyes, devices in another campaign) as exit 1, and bad
// options as exit 2. Most cases run `main` in this process (starting `fota` costs seconds);
// one runs the real command. No device agents run, so no device actually updates.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { drawBar, parseStages, parseWindow } from '../../src/cli/campaign.ts';
import type { Output } from '../../src/cli/io.ts';
import { main } from '../../src/cli/main.ts';
import { fota } from '../support/cli.ts';
import { nextBuild, pseudoRandom, tempDirFor } from '../support/harness.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { localTime } from '../../src/schedule/window.ts';
import { createToken } from '../../src/tokens/tokens.ts';

const MODEL = 'router-cmp';
let server: TestServer;
let dir: string;
let buildId: string;
/** The 4 devices tagged "lab", kept out of the main campaign. */
let labFile: string;
/** The main campaign: 20 "field" devices in stages 10!,50,100. */
let mainId = '';

beforeAll(async () => {
  // A developer's own FOTA_TOKEN or FOTA_SERVER must not leak into the commands.
  vi.stubEnv('FOTA_TOKEN', '');
  vi.stubEnv('FOTA_SERVER', '');
  server = await startTestServer();
  dir = tempDirFor('cli-campaign', afterAll);
  const v1 = pseudoRandom(60_000, 'campaign-v1');
  for (const [version, image] of [['1.0', v1], ['1.1', nextBuild(v1)]] as const) {
    const build = await server.upload(MODEL, version, image);
    expect(build.status).toBe('ready');
    buildId = build.id;
  }
  const register = async (id: string, tags: string[]) => {
    const body = { id, model: MODEL, firmwareVersion: '1.0', tags, credentials: { username: id, password: 'device-password' } };
    const res = await server.api('/api/v1/devices', { method: 'POST', token: server.tokens.operator, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    expect(res.status).toBe(201);
  };
  const field = Array.from({ length: 20 }, (_, i) => `cmp-field-${String(i).padStart(2, '0')}`);
  const lab = Array.from({ length: 4 }, (_, i) => `cmp-lab-${i}`);
  await Promise.all([...field.map((id) => register(id, ['field'])), ...lab.map((id) => register(id, ['lab']))]);
  labFile = join(dir, 'lab.txt');
  await writeFile(labFile, `# the lab bench\n${lab.join('\n')}\n\n`);
});
afterAll(() => {
  vi.unstubAllEnvs();
});

/** Runs `fota` in this process with the operator's token unless told otherwise; `seen` is what it printed so far. */
function launch(args: string[], token: string = server.tokens.operator) {
  const seen = { stdout: '', stderr: '' };
  const io: Output = { out: (text) => void (seen.stdout += text), err: (text) => void (seen.stderr += text), interactive: false };
  const done = main([...args, '--server', server.url, '--token', token], io).then((code) => ({ code, ...seen }));
  return { seen, done };
}

const run = (args: string[], token?: string) => launch(args, token).done;

/** The line of a stage in the status drawing. */
const stageLine = (drawing: string, n: number) => drawing.split('\n').find((line) => line.startsWith(`stage ${n} `)) ?? '';

describe('fota campaign, one campaign from preview to abort', () => {
  it('previews the cohort with create --dry-run and creates nothing', async () => {
    const result = await run(['campaign', 'create', '--name', 'field rollout', '--build', buildId, '--tags', 'field', '--stages', '10!,50,100', '--dry-run']);
    expect(result.code).toBe(0);
    expect(result.stdout).toBe("cohort: 20 devices\n  on 1.0  20\n  already on the build's version (left out at start): 0\n  in other campaigns: none\n");
    expect(result.stderr).toBe('dry run: nothing was created\n');
    expect(await (await server.api('/api/v1/campaigns', { token: server.tokens.operator })).json()).toEqual({ items: [], nextCursor: null });
    // preview is the same question without the campaign's other options.
    expect(await run(['campaign', 'preview', '--build', buildId, '--tags', 'field'])).toMatchObject({ code: 0, stdout: result.stdout });
  });

  it('creates and starts a campaign, printing only the id on stdout; status draws each stage with its size', async () => {
    const created = await run(['campaign', 'create', '--name', 'field rollout', '--build', buildId, '--tags', 'field', '--stages', '10!,50,100', '--soak', '10m', '--timeout', '2h', '--start']);
    expect(created.code).toBe(0);
    expect(created.stdout).toMatch(/^cmp_\S+\n$/);
    mainId = created.stdout.trim();
    // The status after the start is for people, on stderr.
    expect(created.stderr).toContain(`campaign ${mainId} "field rollout": running, stage 1 of 3 awaiting approval`);

    const status = await run(['campaign', 'status', mainId]);
    expect(status.code).toBe(0);
    const out = status.stdout;
    expect(out).toContain(`campaign ${mainId} "field rollout": running, stage 1 of 3 awaiting approval by an operator\n`);
    expect(out).toContain(`  target: ${MODEL} 1.1 (build ${buildId}); 20 devices (left out: 0 already on 1.1, 0 busy with another deployment)\n`);
    expect(out).toContain('  rules: next stage at 95% succeeded after a 10m soak; pause above 5% failed of at least 10 results; device timeout 2h\n');
    // 10% / 50% / 100% of 20 devices: 2, then 8 more, then the last 10; all pending.
    expect(stageLine(out, 1)).toBe('stage 1   10%! awaiting approval  [....................]  succeeded 0  failed 0  in flight 0  scheduled 0  pending 2  (of 2)');
    expect(stageLine(out, 2)).toBe('stage 2   50%  pending            [....................]  succeeded 0  failed 0  in flight 0  scheduled 0  pending 8  (of 8)');
    expect(stageLine(out, 3)).toBe('stage 3  100%  pending            [....................]  succeeded 0  failed 0  in flight 0  scheduled 0  pending 10  (of 10)');
    expect(out).toContain(`    awaiting approval by an operator: fota campaign approve ${mainId}\n`);
    expect(out).toMatch(/^legend: # succeeded {2}x failed {2}= in flight \(commanded, downloading, installing\) {2}: scheduled {2}\. pending {2}- canceled;/m);
  });

  it('lists the campaign on one line', async () => {
    const result = await run(['campaign', 'list']);
    expect(result.code).toBe(0);
    // Not "running": nothing moves until an operator approves stage 1.
    expect(result.stdout).toBe(`${mainId}  field rollout  stage 1 awaiting approval by an operator  ${MODEL} -> 1.1  20 devices: succeeded 0  failed 0  in flight 0  scheduled 0  pending 20\n`);
  });

  it('approves the first stage, which then runs; a second approval is refused (exit 1)', async () => {
    const approved = await run(['campaign', 'approve', mainId]);
    expect(approved.code).toBe(0);
    expect(approved.stdout).toContain(`"field rollout": running, stage 1 of 3 running\n`);
    // Chosen devices are "scheduled" until a session commands them, not "in flight".
    expect(stageLine(approved.stdout, 1)).toMatch(/^stage 1 {3}10%! running {12}\[[:.]{20}\] {2}succeeded 0 {2}failed 0 {2}in flight 0 {2}scheduled \d {2}pending \d {2}\(of 2\)$/);
    expect(approved.stdout).toMatch(/^ {4}approved by ops at \S+$/m);
    expect(approved.stdout).not.toContain('awaiting approval:');

    const again = await run(['campaign', 'approve', mainId]);
    expect(again).toMatchObject({ code: 1, stdout: '' });
    expect(again.stderr).toBe(`fota: server refused (409 CONFLICT): campaign ${mainId} has no stage awaiting approval: stage 1 is running\n`);
  });

  it('shows the other campaign in a preview, and refuses to start a campaign that shares its devices (exit 1), keeping the draft', async () => {
    const preview = await run(['campaign', 'preview', '--model', MODEL]);
    expect(preview.stdout).toBe(`cohort: 24 devices\n  on 1.0  24\n  in campaign ${mainId}: 20 devices\n  a start is refused while any device is in another running or paused campaign\n`);
    const result = await run(['campaign', 'create', '--name', 'everyone', '--build', buildId, '--stages', '100', '--start']);
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/^cmp_\S+\n$/);
    const draft = result.stdout.trim();
    expect(result.stderr).toContain(`campaign ${draft} was created as a draft but not started; start it later with: fota campaign start ${draft}\n`);
    expect(result.stderr).toContain(`fota: server refused (409 CONFLICT): 20 device(s) of this cohort are in campaign ${mainId}, which is still running or paused`);
    expect((await run(['campaign', 'status', draft])).stdout).toContain(`"everyone": draft, not started (fota campaign start ${draft})`);
  });

  it('refuses to start a campaign whose cohort matches no device (exit 1), saying what the model has and what the filter matched', async () => {
    const created = await run(['campaign', 'create', '--name', 'nobody', '--build', buildId, '--tags', 'field', '--versions', '0.1', '--stages', '100']);
    expect(created.code).toBe(0);
    const id = created.stdout.trim();
    const result = await run(['campaign', 'start', id]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`fota: server refused (409 CONFLICT): the cohort matches no device: devices of model ${MODEL}: 24; of those, matched by versions 0, tags {"field":20}.`);
    expect((await run(['campaign', 'status', id])).stdout).toContain('draft, not started');
  });

  it('pauses with a reason, refuses a second pause, and resumes', async () => {
    const paused = await run(['campaign', 'pause', mainId, '--reason', 'night shift']);
    expect(paused.code).toBe(0);
    expect(paused.stdout).toContain(`"field rollout": paused at stage 1 of 3\n  reason: paused by ops: night shift\n  resume with: fota campaign resume ${mainId}\n`);
    expect(stageLine(paused.stdout, 1)).toMatch(/^stage 1 {3}10%! paused {13}\[/);
    expect(stageLine(paused.stdout, 2)).toMatch(/^stage 2 {3}50% {2}pending {12}\[/);

    const again = await run(['campaign', 'pause', mainId]);
    expect(again).toMatchObject({ code: 1, stderr: `fota: server refused (409 CONFLICT): campaign ${mainId} is paused; only a running campaign can be paused\n` });

    const resumed = await run(['campaign', 'resume', mainId]);
    expect(resumed.code).toBe(0);
    expect(resumed.stdout).toContain(`"field rollout": running, stage 1 of 3 running\n`);
    expect(resumed.stdout).not.toContain('reason:');
  });

  it('prints the campaign as JSON with --json', async () => {
    const result = await run(['campaign', 'status', mainId, '--json']);
    expect(result.code).toBe(0);
    const view = JSON.parse(result.stdout) as { id: string; state: string; stages: Array<{ size: number; requiresApproval: boolean }> };
    expect(view).toMatchObject({ id: mainId, state: 'running', cohortSize: 20, targetVersion: '1.1' });
    expect(view.stages.map((s) => [s.size, s.requiresApproval])).toEqual([
      [2, true],
      [8, false],
      [10, false],
    ]);
  });

  it('aborts: pending deployments are canceled; status --watch of an ended campaign draws once and exits', async () => {
    const aborted = await run(['campaign', 'abort', mainId, '--reason', 'wrong build']);
    expect(aborted.code).toBe(0);
    expect(aborted.stdout).toContain(`"field rollout": aborted at stage 1 of 3\n  aborted: aborted by ops: wrong build\n`);
    expect(stageLine(aborted.stdout, 1)).toMatch(/^stage 1 {3}10%! aborted {12}\[-{20}\]/);
    expect(stageLine(aborted.stdout, 3)).toBe('stage 3  100%  aborted            [--------------------]  succeeded 0  failed 0  in flight 0  scheduled 0  pending 0  canceled 10  (of 10)');

    const watched = await run(['campaign', 'status', '--watch', mainId]);
    expect(watched.code).toBe(0);
    expect(watched.stdout.match(/^campaign /gm)).toHaveLength(1);

    const again = await run(['campaign', 'abort', mainId]);
    expect(again).toMatchObject({ code: 1, stderr: `fota: server refused (409 CONFLICT): campaign ${mainId} is already aborted\n` });
  });
});

describe('fota campaign, more', () => {
  it('with four eyes, refuses the creator as approver (exit 1); watch redraws until the campaign ends', async () => {
    const created = await run(['campaign', 'create', '--name', 'lab', '--build', buildId, '--devices-file', labFile, '--stages', '50!,100', '--four-eyes', '--window', 'Mon-Fri 22:00-05:00 Europe/Berlin', '--start']);
    expect(created.code).toBe(0);
    const id = created.stdout.trim();
    const status = (await run(['campaign', 'status', id])).stdout;
    expect(status).toContain('; four eyes\n  window: Mon-Fri 22:00-05:00 Europe/Berlin (');
    expect(status).toContain(`    awaiting approval by someone other than ops: fota campaign approve ${id}\n`);
    expect(stageLine(status, 1)).toMatch(/\(of 2\)$/);

    const refused = await run(['campaign', 'approve', id]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toBe(`fota: server refused (403 FORBIDDEN): campaign ${id} requires four eyes: stage 1 is awaiting approval by someone other than ops, who created it\n`);

    // Watch until someone aborts it: one block per refresh when not on a terminal.
    const watching = launch(['campaign', 'status', id, '--watch', '0.1']);
    while ((watching.seen.stdout.match(/^campaign /gm) ?? []).length < 2) await new Promise((resolve) => setTimeout(resolve, 20));
    expect((await run(['campaign', 'abort', id])).code).toBe(0);
    const watched = await watching.done;
    expect(watched.code).toBe(0);
    const drawings = watched.stdout.split(/\n(?=campaign )/);
    expect(drawings.length).toBeGreaterThanOrEqual(2);
    expect(drawings[0]).toContain(`"lab": running, stage 1 of 2 awaiting approval by someone other than ops`);
    expect(drawings.at(-1)).toContain(`"lab": aborted at stage 1 of 2`);
  });

  it("says the README's weeknight campaign waits for its window on a Saturday, and when it opens", async () => {
    // The server's clock to the next Saturday 12:00 in Berlin (offsets there are whole hours).
    let t = Math.ceil(server.clock.now() / 3_600_000) * 3_600_000;
    while (!(localTime('Europe/Berlin', t).day === 'sat' && localTime('Europe/Berlin', t).minute === 12 * 60)) t += 3_600_000;
    server.clock.advance(t - server.clock.now());
    const created = await run(['campaign', 'create', '--name', 'weeknights', '--build', buildId, '--devices-file', labFile, '--stages', '50!,100', '--four-eyes', '--window', 'Mon-Fri 22:00-05:00 Europe/Berlin', '--start']);
    expect(created.code, created.stderr).toBe(0);
    const id = created.stdout.trim();
    const listed = (await run(['campaign', 'list'])).stdout.split('\n').find((line) => line.startsWith(id)) ?? '';
    expect(listed).toContain('  stage 1 awaiting approval by someone other than ops  ');

    const second = (await createToken(server.ctx, 'test', { role: 'operator', name: 'second operator' })).token;
    const approved = await run(['campaign', 'approve', id], second);
    expect(approved.code, approved.stderr).toBe(0);
    const out = approved.stdout;
    expect(out).toContain(`"weeknights": running, stage 1 of 2 waiting for window (opens Mon 22:00 Europe/Berlin)\n`);
    expect(out).toMatch(/^ {2}window: Mon-Fri 22:00-05:00 Europe\/Berlin \(closed now; opens Mon 22:00 Europe\/Berlin, \d{4}-\d\d-\d\dT(20|21):00:00\.000Z\)$/m);
    // Nothing is commanded: the two devices are scheduled, not "in flight".
    expect(stageLine(out, 1)).toBe('stage 1   50%! waiting for window (opens Mon 22:00 Europe/Berlin)  [::::::::::::::::::::]  succeeded 0  failed 0  in flight 0  scheduled 2  pending 0  (of 2)');
    expect((await run(['campaign', 'list'])).stdout).toContain('  waiting for window (opens Mon 22:00 Europe/Berlin), stage 1  ');
    expect((await run(['campaign', 'abort', id])).code).toBe(0);
  });

  it('refuses a manufacturer token with a message about the role (exit 1)', async () => {
    const result = await run(['campaign', 'list'], server.tokens.acme);
    expect(result).toMatchObject({ code: 1, stdout: '' });
    expect(result.stderr).toBe('fota: server refused (403 FORBIDDEN): GET /api/v1/campaigns is for operator; this token is manufacturer\n');
    const create = await run(['campaign', 'create', '--name', 'x', '--build', buildId, '--stages', '100'], server.tokens.acme);
    expect(create.code).toBe(1);
    expect(create.stderr).toMatch(/is for operator; this token is manufacturer/);
  });

  it('says there is no such campaign (exit 1)', async () => {
    const result = await run(['campaign', 'status', 'cmp_nope']);
    expect(result).toMatchObject({ code: 1, stdout: '', stderr: 'fota: server refused (404 NOT_FOUND): no campaign cmp_nope\n' });
  });

  it('runs as the real command', async () => {
    const result = await fota(['campaign', 'create', '--name', 'n', '--build', buildId, '--tags', 'lab', '--stages', '100', '--dry-run', '--server', server.url, '--token', server.tokens.operator]);
    expect(result).toMatchObject({ code: 0, stdout: "cohort: 4 devices\n  on 1.0  4\n  already on the build's version (left out at start): 0\n  in other campaigns: none\n" });
  });

  const create = ['campaign', 'create', '--name', 'n', '--build', 'bld_x'];
  it.each([
    ['decreasing stages', [...create, '--stages', '50,10,100'], '--stages: 10 after 50; stages are cumulative percents rising to 100'],
    ['stages not ending at 100', [...create, '--stages', '10,50'], '--stages: the last stage is 50, it must be 100'],
    ['junk stages', [...create, '--stages', '10,half,100'], '--stages: "half" is not a stage; give cumulative percents'],
    ['a stage over 100', [...create, '--stages', '10,150'], '--stages: "150" is not a stage'],
    ['no stages', create, 'missing --stages PERCENTS'],
    ['a window without a time zone', [...create, '--stages', '100', '--window', 'Mon-Fri 22:00-05:00'], '--window has 2 parts, not 3: "Mon-Fri 22:00-05:00"; the form is "DAYS HH:MM-HH:MM ZONE", e.g. "Mon-Fri 22:00-05:00 Europe/Berlin"'],
    ['a window on no day', [...create, '--stages', '100', '--window', 'Funday 22:00-05:00 UTC'], '--window days "Funday" are not days; the form is "DAYS HH:MM-HH:MM ZONE"'],
    ['a window at 25:00', [...create, '--stages', '100', '--window', 'daily 22:00-25:00 UTC'], '--window times "22:00-25:00" are not HH:MM-HH:MM'],
    ['a window in an unknown zone', [...create, '--stages', '100', '--window', 'daily 22:00-05:00 Mars/Olympus'], '--window time zone "Mars/Olympus" is unknown'],
    ['a duration without a unit', [...create, '--stages', '100', '--soak', '10'], '--soak takes a duration: a number with s, m, h or d (30s, 10m, 2h), got "10"'],
    ['a share over 1', [...create, '--stages', '100', '--success', '1.5'], '--success takes a share from 0 to 1 or a percent (0.95 or 95%), got "1.5"'],
    ['a bad device id', [...create, '--stages', '100', '--devices', 'ok-1,../etc'], '--devices must be 1-128 letters, digits, ":", ".", "_" or "-" ("../etc")'],
    ['a watch of no seconds', ['campaign', 'status', 'cmp_x', '--watch=0'], '--watch takes a number of seconds (at least 0.1), got 0'],
    ['a missing campaign id', ['campaign', 'approve'], 'missing the campaign ID (fota campaign approve ID)'],
    ['a misspelt option', [...create, '--stages', '100', '--windw', 'daily 00:00-01:00 UTC'], 'unknown option --windw; did you mean --window?\n(see fota --help)'],
    ['an option no command has', ['campaign', 'status', 'cmp_x', '--colour'], 'unknown option --colour (--help lists the options)'],
    ['an unknown subcommand', ['campaign', 'delete', 'cmp_x'], 'unknown command: campaign delete'],
  ])('treats %s as a usage error (exit 2)', async (_name, args, message) => {
    const result = await run(args);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain(`fota: ${message}`);
  });

  it('previews a cohort of a thousand explicit device ids (sent as a JSON body, not in the URL)', async () => {
    const result = await run(['campaign', 'preview', '--model', MODEL, '--devices', Array.from({ length: 1000 }, (_, i) => `IMEI:49300510059${i}`).join(',')]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain('cohort: 0 devices');
  });

  it('prints help for each subcommand, documenting the ! of --stages and the legend', async () => {
    const help = async (...args: string[]) => {
      let out = '';
      expect(await main(args, { out: (t) => void (out += t), err: () => undefined, interactive: false })).toBe(0);
      return out;
    };
    expect(await help('campaign', 'create', '--help')).toContain('--stages 1,10!,50!,100 updates 1% of the devices, then, once');
    expect(await help('campaign', 'status', '--help')).toContain('# succeeded   x failed   = in flight (commanded, downloading, installing)\n  : scheduled');
    expect(await help('campaign', '--help')).toMatch(/^Usage: fota campaign COMMAND/);
  });
});

describe('fota campaign option parsing', () => {
  it('reads stages, windows and bars', () => {
    expect(parseStages('1,10!,50!,100')).toEqual([
      { percent: 1, requiresApproval: false },
      { percent: 10, requiresApproval: true },
      { percent: 50, requiresApproval: true },
      { percent: 100, requiresApproval: false },
    ]);
    expect(parseWindow('Mon-Fri 22:00-05:00 Europe/Berlin')).toEqual({ timeZone: 'Europe/Berlin', days: ['mon', 'tue', 'wed', 'thu', 'fri'], start: '22:00', end: '05:00' });
    expect(parseWindow('Sat,Sun 9:30-12:00 UTC')).toEqual({ timeZone: 'UTC', days: ['sun', 'sat'], start: '09:30', end: '12:00' });
    expect(parseWindow('Fri-Mon 00:00-00:00 UTC').days).toEqual(['sun', 'mon', 'fri', 'sat']);
    expect(parseWindow('daily 01:00-02:00 Asia/Tokyo').days).toHaveLength(7);
    expect(drawBar([12, 3, 20, 0, 15])).toBe('#####x========......');
    // Every non-zero part shows, however small.
    expect(drawBar([998, 1, 0, 0, 1])).toBe('##################x.');
    expect(drawBar([0, 0, 0, 0])).toBe(' '.repeat(20));
  });
});
