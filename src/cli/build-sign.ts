// `fota build sign`: the manufacturer's offline step. Hashes the image and writes a target
// statement signed by the given offline keys (k of the root's n). No server is involved
// and the secret keys never leave this machine; `fota build upload --statement` sends the
// statement, never a key.
import { AppError } from '../errors.ts';
import { statInputFile, writeFileAtomic } from '../files.ts';
import { hashFile } from '../hashing.ts';
import { readSigningKey } from '../signing/keys.ts';
import { signTargetStatement } from '../signing/target-statement.ts';
import { ExitCode, integerOption, type Output, parseOptions, required, UsageError } from './io.ts';

const DEFAULT_EXPIRY_DAYS = 365;

export const buildSignHelp = `Usage: fota build sign IMAGE --key KEY.json [--key KEY2.json ...] --manufacturer NAME
                       --model M --version V [--security-version N] [--hardware H1,H2]
                       [--expires-in DAYS | --expires ISO-8601] [--out FILE]

Offline, no server: writes the manufacturer's target statement for IMAGE (model, version,
SHA-256 and size, security version, compatible hardware versions, expiry), signed by
every --key given (a root of offline keys with threshold k needs k of them). Devices
that pin the manufacturer's root refuse any package whose image no such statement
vouches for, whatever the server signs.

  --out FILE         where to write it (default IMAGE.target.json)
  --hardware H1,H2   DevDetail/HwV values the image runs on (default: any)
  --expires-in DAYS  devices refuse the statement after this (default ${DEFAULT_EXPIRY_DAYS})

Upload the image with it: fota build upload IMAGE --model M --version V --statement FILE
`;

export async function buildSignCommand(args: string[], io: Output): Promise<number> {
  const { values, positionals } = parseOptions(
    args,
    {
      key: { type: 'string', multiple: true },
      manufacturer: { type: 'string' },
      model: { type: 'string' },
      version: { type: 'string' },
      'security-version': { type: 'string' },
      hardware: { type: 'string' },
      'expires-in': { type: 'string' },
      expires: { type: 'string' },
      out: { type: 'string' },
    },
    1,
  );
  if (values.help) return io.out(buildSignHelp), ExitCode.Ok;
  const image = required(positionals[0], 'the IMAGE to sign (fota build sign IMAGE --key KEY.json ...)');
  if (!values.key?.length) throw new UsageError('missing --key KEY.json (an offline signing key; repeat for k of n)');
  if (values.expires !== undefined && values['expires-in'] !== undefined) throw new UsageError('give --expires or --expires-in, not both');
  const expires = values.expires ?? new Date(Date.now() + (integerOption(values['expires-in'], '--expires-in', 1) ?? DEFAULT_EXPIRY_DAYS) * 86_400_000).toISOString();
  if (Number.isNaN(Date.parse(expires))) throw new UsageError(`--expires must be an ISO 8601 time, got ${expires}`);
  const keys = await Promise.all(values.key.map((k) => readSigningKey(k)));
  const { size } = await statInputFile(image, 'image');
  if (size === 0) throw new AppError('VALIDATION', `image ${image} is empty`);
  const digest = await hashFile(image);
  const statement = signTargetStatement(
    {
      manufacturer: required(values.manufacturer, '--manufacturer NAME'),
      model: required(values.model, '--model M'),
      version: required(values.version, '--version V'),
      sha256: digest.sha256,
      size: digest.size,
      securityVersion: integerOption(values['security-version'], '--security-version') ?? 0,
      hardware: values.hardware ? values.hardware.split(',').map((h) => h.trim()).filter(Boolean) : [],
      expires: new Date(expires).toISOString(),
    },
    keys,
  );
  const out = values.out ?? `${image}.target.json`;
  await writeFileAtomic(out, `${JSON.stringify(statement, null, 2)}\n`, 0o644);
  const s = statement.signed;
  io.out(`wrote ${out}: ${s.manufacturer} ${s.model} ${s.version} (sha256 ${s.sha256}, ${s.size} bytes), expires ${s.expires}, signed by ${keys.map((k) => k.keyid.slice(0, 12)).join(', ')}\n`);
  return ExitCode.Ok;
}
