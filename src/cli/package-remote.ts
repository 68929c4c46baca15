// `fota package list|download`: packages the server made, read back over the API (the
// other `fota package` commands work on local files). A manufacturer token sees its own.
import { resolve } from 'node:path';
import { type PackageListItem, packageListItemSchema } from '../builds/list.ts';
import { safeFileName } from './build-read.ts';
import { clientFrom, downloadFile, serverHelp, serverOptions } from './client.ts';
import { ExitCode, formatBytes, type Output, parseOptions, required, UsageError } from './io.ts';
import { type Column, fetchList, pageHelp, pageOptions, printList, shortTime } from './pages.ts';

export const packageRemoteHelp: Record<string, string> = {
  list: `Usage: fota package list [--build BLD] [--model M] [--kind bsdiff40|full]
                         [--limit N] [--cursor C] [--all] [--json]

Packages the server made, newest first: id, model, kind, versions, size, build.

${pageHelp}

${serverHelp}
`,
  download: `Usage: fota package download PKG [--out FILE]

Downloads the .fota file of package PKG (default FILE: PKG.fota). The bytes are checked
against the SHA-256 the server names before FILE appears; check the signature with
fota package verify FILE --pubkey PUB.

${serverHelp}
`,
};

export async function packageRemoteCommand(sub: 'list' | 'download', args: string[], io: Output): Promise<number> {
  return sub === 'list' ? list(args, io) : download(args, io);
}

const packageColumns: Array<Column<PackageListItem>> = [
  { header: 'ID', cell: (p) => p.id },
  { header: 'MODEL', cell: (p) => p.model },
  { header: 'KIND', cell: (p) => p.kind },
  { header: 'VERSIONS', cell: (p) => (p.fromVersion === null ? p.toVersion : `${p.fromVersion} -> ${p.toVersion}`) },
  { header: 'SIZE', cell: (p) => formatBytes(p.size), align: 'right' },
  { header: 'BUILD', cell: (p) => p.buildId },
  { header: 'CREATED', cell: (p) => shortTime(p.createdAt) },
];

async function list(args: string[], io: Output): Promise<number> {
  const { values } = parseOptions(args, { build: { type: 'string' }, model: { type: 'string' }, kind: { type: 'string' }, ...pageOptions, ...serverOptions });
  if (values.help) return io.out(packageRemoteHelp.list ?? ''), ExitCode.Ok;
  if (values.kind !== undefined && values.kind !== 'bsdiff40' && values.kind !== 'full') throw new UsageError(`--kind is bsdiff40 or full, got ${JSON.stringify(values.kind)}`);
  const client = clientFrom(values);
  const listed = await fetchList(client, '/api/v1/packages', { build: values.build, model: values.model, kind: values.kind }, packageListItemSchema.loose(), values);
  printList(io, listed, packageColumns, values, 'packages');
  return ExitCode.Ok;
}

async function download(args: string[], io: Output): Promise<number> {
  const { values, positionals } = parseOptions(args, { out: { type: 'string' }, ...serverOptions }, 1);
  if (values.help) return io.out(packageRemoteHelp.download ?? ''), ExitCode.Ok;
  const id = required(positionals[0], 'the package id (fota package download PKG [--out FILE])');
  const out = resolve(values.out ?? safeFileName(`${id}.fota`));
  const got = await downloadFile(clientFrom(values), `/api/v1/packages/${encodeURIComponent(id)}/file`, out);
  io.out(`${out}\n`);
  io.err(`package ${id}: ${formatBytes(got.bytes)} bytes, sha256 ${got.sha256}\n`);
  return ExitCode.Ok;
}
