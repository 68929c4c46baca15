// The `fota` command: dispatches to a subcommand and turns outcomes into exit codes
// (0 ok, 1 rejected package, 2 usage or unusable input, 70 a bug), with one clear line
// on stderr for every failure.
import { AppError } from '../errors.ts';
import { PackageFormatError } from '../packages/fota-file.ts';
import { describeResult, FumoResult } from '../packages/fumo-codes.ts';
import { ExitCode, type Output, processOutput, UsageError } from './io.ts';
import { keysCommand, keysHelp } from './keys.ts';
import { packageCommand, packageHelp, packageUsage } from './package.ts';
import { serveCommand, serveHelp } from './serve.ts';

const mainHelp = `Usage: fota COMMAND [OPTIONS]   (fota COMMAND --help for details)

Local, no server needed:
  keys generate --out KEY.json          new Ed25519 signing key
  package make ...                       signed delta or full package (.fota)
  package inspect P.fota                 print the envelope
  package verify P.fota --pubkey PUB     check signature and payload
  package apply P.fota --base OLD --out NEW --pubkey PUB
                                         all device checks, then write NEW

Server:
  serve [--port 8080]                    run the fota server

Exit codes: 0 ok, 1 package rejected (message names the FUMO result code),
2 usage error or unusable input.
`;

export async function main(args: string[], io: Output = processOutput): Promise<number> {
  const [command, ...rest] = args;
  try {
    if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
      io.out(mainHelp);
      return command === undefined ? ExitCode.Usage : ExitCode.Ok;
    }
    if (rest.includes('--help') || rest.includes('-h')) {
      const help = helpFor(command, rest[0]);
      if (help) return io.out(help), ExitCode.Ok;
    }
    switch (command) {
      case 'keys':
        return await keysCommand(rest, io);
      case 'package':
        return await packageCommand(rest, io);
      case 'serve':
        return await serveCommand(rest, io);
      default:
        throw new UsageError(`unknown command: ${command}`);
    }
  } catch (err) {
    return report(err, io);
  }
}

function helpFor(command: string, sub: string | undefined): string | undefined {
  if (command === 'keys') return keysHelp;
  if (command === 'serve') return serveHelp;
  if (command === 'package') return (sub && packageHelp[sub]) || packageUsage;
  return undefined;
}

function report(err: unknown, io: Output): number {
  if (err instanceof UsageError) {
    io.err(`fota: ${err.message}\n(see fota --help)\n`);
    return ExitCode.Usage;
  }
  if (err instanceof PackageFormatError) {
    io.err(`fota: rejected, FUMO ${describeResult(FumoResult.CorruptedPackage)}: ${err.message}\n`);
    return ExitCode.Rejected;
  }
  if (err instanceof AppError) {
    io.err(`fota: ${err.message}\n`);
    return ExitCode.Usage;
  }
  io.err(`fota: internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  return ExitCode.Internal;
}
