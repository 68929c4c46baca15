// `fota package make|inspect|verify|apply`: the manufacturer's and the device's side of a
// signed package, with no server. A rejected package exits 1 with its FUMO result code.
import { DeltaPool } from '../delta/pool.ts';
import { applyPackage } from '../packages/apply.ts';
import { readFotaFile } from '../packages/fota-file.ts';
import { describeFumoResult } from '../omadm/fumo-results.ts';
import { makePackage } from '../packages/make.ts';
import { describeManifest } from '../packages/manifest.ts';
import type { Rejection } from '../packages/verify.ts';
import { verifyFotaFile } from '../packages/verify.ts';
import type { TrustPolicy } from '../signing/envelope.ts';
import { readSigningKey } from '../signing/keys.ts';
import { parseRoot } from '../signing/offline-root.ts';
import { MAX_SIGNED_DOCUMENT_BYTES } from '../signing/signed-document.ts';
import { parseTargetStatement } from '../signing/target-statement.ts';
import { mergeTrust, readPinnedRoot, readTrust, withOfflineRoot } from '../signing/trust-file.ts';
import { statInputFile } from '../files.ts';
import { readFile } from 'node:fs/promises';
import { ExitCode, formatBytes, integerOption, type Output, parseOptions, required, UsageError } from './io.ts';
import { ProgressLine } from './progress.ts';

export const packageHelp: Record<string, string> = {
  make: `Usage: fota package make --to NEW --to-version B --model M --key KEY.json --out P.fota
                         [--from OLD --from-version A] [--manufacturer NAME]
                         [--security-version N] [--max-delta-ratio 0.6] [--chunk-size BYTES]
                         [--statement NEW.target.json [--root ROOT.json ...]]

Makes a signed package. With --from it is a bsdiff delta from OLD to NEW, unless the
delta would exceed --max-delta-ratio of NEW's size; then (and without --from) it is the
full image. The output appears only when complete. With --statement (fota build sign)
the package is formatVersion 2: it carries the manufacturer's target statement for NEW
and the roots given with --root (version 1 and any rotations), for devices that pin the
manufacturer's offline keys.
`,
  inspect: `Usage: fota package inspect P.fota

Prints the package envelope (manifest and signatures) as JSON. Checks nothing.
`,
  verify: `Usage: fota package verify P.fota --pubkey PUB [--pubkey PUB2 ...] [--threshold N]
                           [--root ROOT.json]

Exits 0 only if at least N (default 1) trusted keys signed the package and the payload
matches its hashes. PUB is a .pub.json or a full key file, or a key list as the server serves it
(GET /api/v1/manufacturers/NAME/keys; revoked keys in it count for nothing).
With --root (the manufacturer's root of offline keys) the package must also carry a
target statement that k of those keys signed and that has not expired (else FUMO 404).
`,
  apply: `Usage: fota package apply P.fota --base OLD --out NEW --pubkey PUB [--pubkey PUB2 ...]
                          [--model M] [--security-version N] [--threshold N]
                          [--root ROOT.json] [--hw-version H]

Runs every device check (signature 404, with --root the manufacturer's offline target
statement 404, model, hardware and base image 403, security version 405, payload 402,
patched image 410), then writes NEW. --base may be left out for a full
image. On rejection nothing is written and the exit code is 1.
`,
};

export const packageUsage = `Usage: fota package make|inspect|verify|apply|list|download ... (fota package COMMAND --help)\n`;

export async function packageCommand(args: string[], io: Output): Promise<number> {
  const [sub, ...rest] = args;
  switch (sub) {
    case 'list':
    case 'download':
      return (await import('./package-remote.ts')).packageRemoteCommand(sub, rest, io);
    case 'make':
      return make(rest, io);
    case 'inspect':
      return inspect(rest, io);
    case 'verify':
      return verify(rest, io);
    case 'apply':
      return apply(rest, io);
    default:
      throw new UsageError(sub ? `unknown command: package ${sub}` : 'missing command: package make|inspect|verify|apply|list|download');
  }
}

async function make(args: string[], io: Output): Promise<number> {
  const { values } = parseOptions(args, {
    from: { type: 'string' },
    to: { type: 'string' },
    key: { type: 'string' },
    model: { type: 'string' },
    manufacturer: { type: 'string' },
    'from-version': { type: 'string' },
    'to-version': { type: 'string' },
    'security-version': { type: 'string' },
    'max-delta-ratio': { type: 'string' },
    'chunk-size': { type: 'string' },
    statement: { type: 'string' },
    root: { type: 'string', multiple: true },
    out: { type: 'string' },
  });
  if (values.help) return io.out(packageHelp.make ?? ''), 0;
  if ((values.from === undefined) !== (values['from-version'] === undefined)) {
    throw new UsageError('--from and --from-version go together (leave both out for a full image)');
  }
  const maxDeltaRatio = values['max-delta-ratio'] === undefined ? undefined : Number(values['max-delta-ratio']);
  if (maxDeltaRatio !== undefined && !(maxDeltaRatio > 0 && maxDeltaRatio <= 1)) {
    throw new UsageError(`--max-delta-ratio must be a number in (0, 1], got ${values['max-delta-ratio']}`);
  }
  const request = {
    to: {
      path: required(values.to, '--to NEW'),
      version: required(values['to-version'], '--to-version B'),
      securityVersion: integerOption(values['security-version'], '--security-version'),
    },
    from: values.from && values['from-version'] ? { path: values.from, version: values['from-version'] } : undefined,
    model: required(values.model, '--model M'),
    manufacturer: values.manufacturer ?? 'local',
    outPath: required(values.out, '--out P.fota'),
    chunkSize: integerOption(values['chunk-size'], '--chunk-size', 1),
  };
  const key = await readSigningKey(required(values.key, '--key KEY.json'));
  if (values.root?.length && !values.statement) throw new UsageError('--root goes with --statement (the roots travel with a target statement)');
  const offline = values.statement
    ? {
        target: parseTargetStatement(await readSmallFile(values.statement, 'target statement'), `target statement ${values.statement}`),
        roots: await Promise.all((values.root ?? []).map(async (r) => parseRoot(await readSmallFile(r, 'root file'), `root file ${r}`))),
      }
    : undefined;
  const progress = new ProgressLine(io);
  const versions = request.from ? `${request.from.version} -> ${request.to.version}` : request.to.version;
  try {
    const made = await makePackage({
      ...request,
      key,
      ...(offline ? { offline } : {}),
      maxDeltaRatio,
      pool: new DeltaPool(),
      onProgress: (event) => {
        if (event.phase === 'hashing') progress.update(`hashing ${event.file}: ${Math.floor((100 * event.bytesDone) / Math.max(1, event.bytesTotal))}%`, event.file);
        else if (event.phase === 'diffing') progress.tick('diffing', (s) => `diffing ${versions}: ${s} s`);
        else progress.update('writing package');
      },
    });
    progress.done();
    const { payload, target } = made.envelope.signed;
    if (made.rejectedDeltaSize !== undefined) {
      io.err(`the delta (${formatBytes(made.rejectedDeltaSize)} bytes) exceeds ${maxDeltaRatio ?? 0.6} of the image; packaged the full image instead\n`);
    }
    const share = ((100 * payload.size) / Math.max(1, target.size)).toFixed(1);
    io.out(`wrote ${made.outPath}: ${describeManifest(made.envelope.signed)}, ${share}% of the image, signed by ${key.keyid}\n`);
    return ExitCode.Ok;
  } finally {
    progress.done();
  }
}

async function inspect(args: string[], io: Output): Promise<number> {
  const { values, positionals } = parseOptions(args, {}, 1);
  if (values.help) return io.out(packageHelp.inspect ?? ''), 0;
  const file = await readFotaFile(required(positionals[0], 'the package file (fota package inspect P.fota)'));
  io.out(`${JSON.stringify(file.envelope, null, 2)}\n`);
  return ExitCode.Ok;
}

async function verify(args: string[], io: Output): Promise<number> {
  const { values, positionals } = parseOptions(args, { pubkey: { type: 'string', multiple: true }, threshold: { type: 'string' }, root: { type: 'string' } }, 1);
  if (values.help) return io.out(packageHelp.verify ?? ''), 0;
  const path = required(positionals[0], 'the package file (fota package verify P.fota --pubkey PUB)');
  const verdict = await verifyFotaFile(path, { trust: await trustFrom(values.pubkey, values.threshold, values.root) });
  if (!verdict.ok) return rejected(io, path, verdict);
  io.out(`${path}: OK, ${describeManifest(verdict.manifest)}, signed by ${verdict.keyids.join(', ')}\n`);
  return ExitCode.Ok;
}

async function apply(args: string[], io: Output): Promise<number> {
  const { values, positionals } = parseOptions(
    args,
    {
      base: { type: 'string' },
      out: { type: 'string' },
      pubkey: { type: 'string', multiple: true },
      threshold: { type: 'string' },
      root: { type: 'string' },
      model: { type: 'string' },
      'security-version': { type: 'string' },
      'hw-version': { type: 'string' },
    },
    1,
  );
  if (values.help) return io.out(packageHelp.apply ?? ''), 0;
  const path = required(positionals[0], 'the package file (fota package apply P.fota --base OLD --out NEW --pubkey PUB)');
  const outPath = required(values.out, '--out NEW');
  const device = { model: values.model, securityVersion: integerOption(values['security-version'], '--security-version'), hardwareVersion: values['hw-version'] };
  const verdict = await applyPackage({
    packagePath: path,
    basePath: values.base,
    outPath,
    trust: await trustFrom(values.pubkey, values.threshold, values.root),
    device,
    pool: new DeltaPool(),
  });
  if (!verdict.ok) return rejected(io, path, verdict);
  io.out(`wrote ${outPath}: ${verdict.manifest.target.version} (sha256 ${verdict.manifest.target.sha256}) from ${describeManifest(verdict.manifest)}\n`);
  return ExitCode.Ok;
}

async function trustFrom(pubkeys: string[] | undefined, threshold: string | undefined, root: string | undefined): Promise<TrustPolicy> {
  if (!pubkeys?.length) throw new UsageError('missing --pubkey PUB (the key(s) to trust)');
  // Each --pubkey is a key file or a key list as the server serves it.
  const delivery = mergeTrust(await Promise.all(pubkeys.map((p) => readTrust(p))), integerOption(threshold, '--threshold', 1));
  return withOfflineRoot(delivery, root ? await readPinnedRoot(root) : undefined);
}

/** A statement or root file, refused over the signed-document limit before it is read. */
async function readSmallFile(path: string, what: string): Promise<string> {
  const { size } = await statInputFile(path, what);
  if (size > MAX_SIGNED_DOCUMENT_BYTES) throw new UsageError(`${what} ${path} is ${size} bytes; the limit is ${MAX_SIGNED_DOCUMENT_BYTES}`);
  return readFile(path, 'utf8');
}

function rejected(io: Output, path: string, verdict: Rejection): number {
  io.err(`${path}: rejected, FUMO ${describeFumoResult(verdict.resultCode)}: ${verdict.reason}\n`);
  return ExitCode.Rejected;
}
