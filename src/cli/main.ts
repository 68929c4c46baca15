// The `fota` command: dispatches to a subcommand and turns outcomes into exit codes
// (0 ok, 1 rejected package or refused by the server, 2 usage or unusable input, 70 a
// bug), with one clear line on stderr for every failure.
//
// Every subcommand, and the error types `report` recognises, is imported only when needed:
// `fota --help` loads this file and io.ts, and each command loads its own part (the server
// pulls in everything; a client command needs neither the store nor the server).
import { ExitCode, type Output, processOutput, UsageError } from './io.ts';

const mainHelp = `Usage: fota COMMAND [OPTIONS]   (fota COMMAND --help for details)

Local, no server needed:
  keys generate --out KEY.json          new Ed25519 signing key
  keys root --pubkey A.pub.json --threshold K --sign A.json --out ROOT.json
                                         root of offline keys (k of n; --previous: rotation)
  build sign IMAGE --key KEY.json --manufacturer NAME --model M --version V
                                         offline target statement for an image
  package make ...                       signed delta or full package (.fota)
  package inspect P.fota                 print the envelope
  package verify P.fota --pubkey PUB     check signature and payload
  package apply P.fota --base OLD --out NEW --pubkey PUB
                                         all device checks, then write NEW

Server:
  serve [--port 8080] [--no-jobs]        run the fota server (--no-jobs: leave package
                                         jobs to fota worker)
  worker [--port N]                      run package jobs only, on the servers' database
                                         and artifact store (/healthz, /metrics on N)
  db migrate [--data DIR]                apply the database migrations and exit
  gc [--dry-run] [--grace-minutes 60]    remove artifacts no build or package references

Device:
  device run --server URL --id DEVID ... the reference FUMO device agent (polls over
                                         OMA DM, downloads, verifies, installs, reports)
  simulate --devices N --model M --version V --image FILE ...
                                         a fleet of simulated devices against a server
                                         (or several: --server URL1,URL2), with faults
                                         by share of the fleet

Clients of a server (--server URL or FOTA_SERVER, --token T or FOTA_TOKEN):
  token create --role R --name N [--person LOGIN] [--manufacturer NAME]
                                         new API token, printed once (admin; or
                                         another token of your own)
  person create LOGIN [--display-name D] | person list
                                         people who hold tokens (admin)
  build upload FILE --model M --version V [--statement FILE.target.json]
                                         stream an image, wait for its packages
  keys register ROOT.json | keys show NAME | keys revoke KEYID | keys policy NAME
                                         the server's copy of a manufacturer's offline
                                         keys; --require-offline-signing (admin, manufacturer)
  campaign create --name N --build BLD --stages 10!,50,100 [--start]
                                         staged rollout (operator); ! = needs approval;
                                         --profile NAME@VERSION instead of --build: a
                                         configuration campaign
  profile create|list|show|apply|config|drift
                                         configuration profiles: versioned DM node
                                         operations per model (operator)
  campaign start|approve|pause|resume|abort ID
  campaign status ID [--watch]           each stage as a bar; also preview, list
  release create --build BLD [--tags T,T] [--window W] | release list|withdraw ID
                                         builds offered to devices that ask (operator)
  app upload FILE --model M --component ID --version V | app list
                                         application packages (SCOMO; manufacturer)
  app device DEVID [--install ID@V | --remove ID | --activate ID | --deactivate ID]
                                         a device's applications, one-off operations
  baseline set --model M --app ID@V --forbid ID | baseline show --model M
                                         a model's default application set (operator)
  build list|show|status|download        builds and their packages (download BLD
                                         [--from VERSION]: one package as a .fota file)
  package list|download PKG              packages the server made
  device list|show|tag                   the fleet (operator); tag DEVID --add T --remove T
  device query DEVID --preset P [--wait] ask the device now (helpdesk): DM Gets, results live
  enroll create|export|list|show         enrollment batches (operator): devices with
                                         generated DM accounts, bootstrap files, claims
  audit [--subject ID] [--actor TOKEN_ID] [--action A]
                                         who did what, newest first
  Lists take --limit N, --cursor C (the next page), --all (every page), --json.
  webhook add URL [--events E1,E2]       operator webhook for campaign events, signed;
                                         prints its secret once (admin); also list, remove

Exit codes: 0 ok, 1 package rejected (message names the FUMO result code), refused by
the server or build failed, 2 usage error, unusable input or server unreachable.
`;

export async function main(args: string[], io: Output = processOutput): Promise<number> {
  const [command, ...rest] = args;
  try {
    if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
      io.out(mainHelp);
      return command === undefined ? ExitCode.Usage : ExitCode.Ok;
    }
    if (rest.includes('--help') || rest.includes('-h')) {
      const help = await helpFor(command, rest[0]);
      if (help) return io.out(help), ExitCode.Ok;
    }
    switch (command) {
      case 'keys':
        return await (await import('./keys.ts')).keysCommand(rest, io);
      case 'package':
        return await (await import('./package.ts')).packageCommand(rest, io);
      case 'serve':
        return await (await import('./serve.ts')).serveCommand(rest, io);
      case 'worker':
        return await (await import('./worker.ts')).workerCommand(rest, io);
      case 'db':
        return await (await import('./db.ts')).dbCommand(rest, io);
      case 'gc':
        return await (await import('./gc.ts')).gcCommand(rest, io);
      case 'device':
        return await (await import('./device.ts')).deviceCommand(rest, io);
      case 'simulate':
        return await (await import('./simulate.ts')).simulateCommand(rest, io);
      case 'demo':
        return await (await import('./demo.ts')).demoCommand(rest, io);
      case 'token':
        return await (await import('./token.ts')).tokenCommand(rest, io);
      case 'person':
        return await (await import('./person.ts')).personCommand(rest, io);
      case 'build':
        return await (await import('./build.ts')).buildCommand(rest, io);
      case 'campaign':
        return await (await import('./campaign.ts')).campaignCommand(rest, io);
      case 'release':
        return await (await import('./release.ts')).releaseCommand(rest, io);
      case 'app':
        return await (await import('./app.ts')).appCommand(rest, io);
      case 'baseline':
        return await (await import('./app.ts')).baselineCommand(rest, io);
      case 'profile':
        return await (await import('./profile.ts')).profileCommand(rest, io);
      case 'audit':
        return await (await import('./audit.ts')).auditCommand(rest, io);
      case 'webhook':
        return await (await import('./webhook.ts')).webhookCommand(rest, io);
      case 'enroll':
        return await (await import('./enroll.ts')).enrollCommand(rest, io);
      default:
        throw new UsageError(`unknown command: ${command}`);
    }
  } catch (err) {
    return await report(err, io);
  }
}

async function helpFor(command: string, sub: string | undefined): Promise<string | undefined> {
  switch (command) {
    case 'keys':
      if (sub === 'root') return (await import('./keys-root.ts')).keysRootHelp;
      if (sub === 'register' || sub === 'show' || sub === 'revoke' || sub === 'policy') return (await import('./keys-offline.ts')).keysOfflineHelp;
      return (await import('./keys.ts')).keysHelp;
    case 'serve':
      return (await import('./serve.ts')).serveHelp;
    case 'worker':
      return (await import('./worker.ts')).workerHelp;
    case 'db':
      return (await import('./db.ts')).dbHelp;
    case 'gc':
      return (await import('./gc.ts')).gcHelp;
    case 'device':
      if (sub === 'query') return (await import('./device-query.ts')).deviceQueryHelp;
      return (sub && (await import('./fleet.ts')).fleetHelp[sub]) || (await import('./device.ts')).deviceHelp;
    case 'simulate':
      return (await import('./simulate.ts')).simulateHelp;
    case 'demo':
      return (await import('./demo.ts')).demoHelp;
    case 'package': {
      const { packageHelp, packageUsage } = await import('./package.ts');
      if (sub === 'list' || sub === 'download') return (await import('./package-remote.ts')).packageRemoteHelp[sub];
      return (sub && packageHelp[sub]) || packageUsage;
    }
    case 'audit':
      return (await import('./audit.ts')).auditHelp;
    case 'token':
      return (await import('./token.ts')).tokenHelp;
    case 'person':
      return (await import('./person.ts')).personHelp;
    case 'webhook':
      return (await import('./webhook.ts')).webhookHelp;
    case 'build': {
      const { buildHelp, buildUsage } = await import('./build.ts');
      if (sub === 'upload') return buildHelp;
      if (sub === 'sign') return (await import('./build-sign.ts')).buildSignHelp;
      return (sub && (await import('./build-read.ts')).buildReadHelp[sub]) || buildUsage;
    }
    case 'campaign': {
      const { campaignHelp, campaignUsage } = await import('./campaign.ts');
      return (sub && campaignHelp[sub]) || campaignUsage;
    }
    case 'release':
      return (await import('./release.ts')).releaseUsage;
    case 'app':
      return (await import('./app.ts')).appUsage;
    case 'baseline':
      return (await import('./app.ts')).baselineUsage;
    case 'profile':
      return (await import('./profile.ts')).profileUsage;
    case 'enroll':
      return (await import('./enroll.ts')).enrollUsage;
    default:
      return undefined;
  }
}

async function report(err: unknown, io: Output): Promise<number> {
  if (err instanceof UsageError) {
    io.err(`fota: ${err.message}\n(see fota --help)\n`);
    return ExitCode.Usage;
  }
  const busy = portInUse(err);
  if (busy) {
    io.err(`fota: ${busy} is already in use (another fota serve or demo?); choose another with --port N\n`);
    return ExitCode.Usage;
  }
    // Already loaded by whichever command threw one of these.
  const [{ ServerRefusal }, { PackageFormatError }, { describeFumoResult, FumoResult }, { AppError }] = await Promise.all([
    import('./client.ts'),
    import('../packages/fota-file.ts'),
    import('../omadm/fumo-results.ts'),
    import('../errors.ts'),
  ]);
  if (err instanceof ServerRefusal) {
    io.err(`fota: ${err.message}\n`);
    return ExitCode.Rejected;
  }
  if (err instanceof PackageFormatError) {
    io.err(`fota: rejected, FUMO ${describeFumoResult(FumoResult.CorruptedPackage)}: ${err.message}\n`);
    return ExitCode.Rejected;
  }
  if (err instanceof AppError) {
    io.err(`fota: ${err.message}\n`);
    return ExitCode.Usage;
  }
  io.err(`fota: internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  return ExitCode.Internal;
}

/** "port 8080" when a listen failed because another process has the port (Node's EADDRINUSE). */
function portInUse(err: unknown): string | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const { code, port } = err as { code?: unknown; port?: unknown };
  if (code !== 'EADDRINUSE') return undefined;
  return typeof port === 'number' ? `port ${port}` : 'the port';
}
