// Paired DM benchmark: the CPU a DM session costs this checkout's server against another
// checkout's (--base), both loaded in this one process and measured in alternating rounds.
// Why: bench:dm's server CPU per session moved by 30% between runs of the same code on the
// 2-core development VM (0.65 to 0.97 ms within half an hour at load 1-4), more than most
// changes are worth; two servers in one process, round after round, meet the same machine,
// so their difference survives what the machine does. The session is bench:dm's (407 +
// challenge, 212 + four Gets, Results -> closing message), driven straight into each
// server's handleDmMessage: the HTTP layer is left out, as it is the same code on both
// sides unless the change is there (then use bench:dm).
// Both sides run from their built dist/ (this one is built first; build the base yourself:
// `npm run build` there). The base must be near enough to this checkout to have the same
// startServer, handleDmMessage and createToken (a checkout of a recent main).
// Prints one JSON object: CPU µs per session of each round for both sides (the process's
// user + system time over the round, this harness's client work included, the same for
// both), their medians, and the paired difference (this minus base, round by round): its
// median and range. --base . compares this checkout with itself: the spread that is noise.
// Run: npm run bench:dm-pair -- --base /path/to/other/checkout [--rounds 12 --per 500 --warmup 3000]
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import pino from 'pino';
import { alertXml, type CommandXml, md5Cred, messageXml, replaceXml, resultsXml, statusXml } from '../test/support/dm-test-client.ts';
import { type LightReply, readLightReply } from './dm-reply.ts';
import { serverBuild } from './server-build.ts';

const { values: args } = parseArgs({
  options: {
    base: { type: 'string' },
    rounds: { type: 'string', default: '12' },
    per: { type: 'string', default: '500' },
    warmup: { type: 'string', default: '3000' },
    concurrency: { type: 'string', default: '64' },
  },
});
if (!args.base) throw new Error('--base DIR is required: a checkout with a built dist/ to compare with (--base . compares this one with itself)');
const ROUNDS = Number(args.rounds);
const PER = Number(args.per);
const WARMUP = Number(args.warmup);
const CONCURRENCY = Number(args.concurrency);

const PASSWORD = 'bench-password-1';
const CONTENT_TYPE = 'application/vnd.syncml.dm+xml';
const TREE: Record<string, string> = { './DevInfo/Man': 'Acme', './DevInfo/Mod': 'X100', './DevInfo/DmV': '1.2', './DevInfo/Lang': 'en-US', './DevDetail/FwV': '1.0.0', './DevDetail/SwV': '1.0.0', './DevDetail/HwV': 'rev-a' };
const DEV_INFO = ['DevId', 'Man', 'Mod', 'DmV', 'Lang'].map((n) => `./DevInfo/${n}`);
const deviceId = (i: number) => `IMEI:35${String(i).padStart(13, '0')}`;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Runs fn(i) for i in [from, from + n), `width` at a time. */
async function inParallel(n: number, from: number, width: number, fn: (i: number) => Promise<void>): Promise<void> {
  let next = from;
  await Promise.all(Array.from({ length: width }, async () => {
    while (next < from + n) await fn(next++);
  }));
}

interface Side {
  session: (i: number) => Promise<void>;
  close: () => Promise<void>;
}

/** A server of the checkout at `root` (its dist/), with every device the run needs registered and one Get queued for each. */
async function side(root: string, dataDir: string, devices: number): Promise<Side> {
  const { startServer } = await import(join(root, 'dist/start.js'));
  const { loadConfig } = await import(join(root, 'dist/config.js'));
  const { handleDmMessage } = await import(join(root, 'dist/dm/session/handle.js'));
  const { createToken } = await import(join(root, 'dist/tokens/tokens.js'));
  const defaults = loadConfig({});
  const config = loadConfig({}, { dataDir: join(dataDir, 'data'), artifactsDir: join(dataDir, 'artifacts'), port: 0, adminToken: 'bench-admin-token-0123456789', campaigns: { ...defaults.campaigns } });
  const server = await startServer(config, { host: '127.0.0.1', log: pino({ level: 'silent' }) });
  const { token } = await createToken(server.ctx, 'bench', { role: 'operator', name: 'bench' });
  const api = async (path: string, body: unknown) => {
    const res = await fetch(`${server.url}${path}`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    if (!res.ok) throw new Error(`${root}: POST ${path}: ${res.status} ${await res.text()}`);
  };
  await inParallel(devices, 0, 16, async (i) => {
    const id = deviceId(i);
    await api('/api/v1/devices', { id, model: 'X100', firmwareVersion: '1.0.0', credentials: { username: id, password: PASSWORD, authType: 'md5' } });
    await api(`/api/v1/devices/${encodeURIComponent(id)}/operations`, { command: 'Get', uri: './DevInfo/Lang' });
  });
  const dmUrl = `${server.url}/dm`;

  async function session(i: number): Promise<void> {
    const id = deviceId(i);
    const sessionId = ((i % 0xfff0) + 1).toString(16).toUpperCase();
    let msgId = 1;
    let sessionToken: string | undefined;
    const send = async (xml: string): Promise<LightReply> => {
      // Each message in a turn of the event loop of its own, as a request read from a
      // socket comes: called straight on from the last reply, every message would find the
      // batch of grouped transactions committed, which under HTTP load it seldom does.
      await new Promise((resolve) => setImmediate(resolve));
      const res = await handleDmMessage(server.ctx, server.dmGuard, { body: encoder.encode(xml), contentType: CONTENT_TYPE, ...(sessionToken ? { token: sessionToken } : {}), serverUrl: dmUrl, address: '127.0.0.1' });
      if (res.status !== 200) throw new Error(`${root}: device ${id}: HTTP ${res.status}`);
      const reply = readLightReply(decoder.decode(res.body));
      if (reply.respUri) sessionToken = new URL(reply.respUri).searchParams.get('s') ?? undefined;
      return reply;
    };
    const header = (cred?: string) => ({ sessionId, msgId: String(msgId++), target: dmUrl, source: id, locName: id, ...(cred ? { cred: { type: 'syncml:auth-md5', data: cred } } : {}) });
    const package1 = (): CommandXml[] => [alertXml('1201'), replaceXml(DEV_INFO.map((uri) => ({ uri, data: uri === './DevInfo/DevId' ? id : (TREE[uri] ?? '') })))];
    const headerStatus = (r: LightReply) => statusXml({ msgRef: r.msgId, cmdRef: 0, cmd: 'SyncHdr', targetRefs: [r.target], sourceRefs: [r.source], code: 200 });
    const challenged = await send(messageXml(header(), package1()));
    const nonce = challenged.headerStatus?.nextNonce;
    if (!nonce) throw new Error(`${root}: device ${id}: no challenge`);
    const asked = await send(messageXml(header(md5Cred(id, PASSWORD, Buffer.from(nonce, 'base64'))), [headerStatus(challenged), ...package1()]));
    if (asked.gets.length !== 4) throw new Error(`${root}: device ${id}: ${asked.gets.length} Gets, expected 4`);
    const answers = asked.gets.flatMap((get) => [
      statusXml({ msgRef: asked.msgId, cmdRef: get.cmdId, cmd: 'Get', targetRefs: [get.uri], code: 200 }),
      resultsXml(asked.msgId, get.cmdId, [{ uri: get.uri, data: TREE[get.uri] ?? '' }]),
    ]);
    const closing = await send(messageXml(header(), [headerStatus(asked), ...answers]));
    if (!closing.final || closing.commands.some((c) => c !== 'Status')) throw new Error(`${root}: device ${id}: not a closing message`);
  }
  return { session, close: () => server.close() };
}

const median = (values: number[]) => {
  const s = [...values].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

serverBuild(false);
const roots = [resolve(args.base), resolve('.')];
const scratch = mkdtempSync(join(tmpdir(), 'fota-bench-dm-pair-'));
try {
  const devices = WARMUP + PER * ROUNDS;
  const sides: Side[] = [];
  for (const [k, root] of roots.entries()) sides.push(await side(root, join(scratch, String(k)), devices));
  process.stderr.write(`${devices} devices registered on each side; warming up\n`);
  // Timed devices are 0..PER*ROUNDS-1; warm-up ones come after, in chunks that alternate sides.
  for (let done = 0; done < WARMUP; done += 500) for (const s of sides) await inParallel(Math.min(500, WARMUP - done), PER * ROUNDS + done, CONCURRENCY, s.session);
  const micros: number[][] = [[], []];
  for (let round = 0; round < ROUNDS; round++) {
    // Each side goes first in every other round: whatever the machine does over a pair of
    // rounds weighs on both alike.
    for (const k of round % 2 === 0 ? [0, 1] : [1, 0]) {
      const before = process.cpuUsage();
      await inParallel(PER, PER * round, CONCURRENCY, sides[k]!.session);
      const used = process.cpuUsage(before);
      micros[k]!.push(Math.round((used.user + used.system) / PER));
    }
    process.stderr.write(`round ${round + 1}/${ROUNDS}: base ${micros[0]!.at(-1)} µs, this ${micros[1]!.at(-1)} µs per session\n`);
  }
  for (const s of sides) await s.close();
  const differences = micros[1]!.map((us, i) => us - micros[0]![i]!);
  console.log(JSON.stringify({
    benchmark: 'dm-pair',
    base: roots[0],
    this: roots[1],
    sessionsPerRound: PER,
    concurrency: CONCURRENCY,
    loadAverage1m: Math.round((loadavg()[0] ?? 0) * 100) / 100,
    cpuMicrosPerSession: {
      base: { rounds: micros[0], median: median(micros[0]!) },
      this: { rounds: micros[1], median: median(micros[1]!) },
      thisMinusBase: { median: median(differences), min: Math.min(...differences), max: Math.max(...differences), ratioOfMedians: Math.round((median(micros[1]!) / median(micros[0]!)) * 1000) / 1000 },
    },
  }, null, 2));
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
