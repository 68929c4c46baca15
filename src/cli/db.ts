// `fota db migrate`: applies the committed database migrations and exits, printing each
// one it applied. Servers and workers also migrate when they start; this lets an
// operator migrate once, before new versions of them roll out.
import { resolve } from 'node:path';
import { databaseUrlOption, loadConfig } from '../config.ts';
import { migrateDatabase } from '../store/migrate.ts';
import { ExitCode, type Output, parseOptions, UsageError } from './io.ts';

export const dbHelp = `Usage: fota db migrate [--data DIR] [--database URL]

Applies the database migrations this version of fota brings that the database lacks,
prints each one applied, and exits. fota serve and fota worker do the same when they
start; running it first keeps that out of their start.

  --data DIR        the server's data directory, where fota.db is (FOTA_DATA, ./data);
                    a database that is not there yet is created
  --database URL    a PostgreSQL database instead (FOTA_DATABASE_URL: postgres://...)

Exit codes: 0 migrated (or nothing to do), 2 usage error or a database it cannot use.
`;

export async function dbCommand(args: string[], io: Output): Promise<number> {
  const [sub, ...rest] = args;
  if (sub === undefined || sub === '--help' || sub === '-h') {
    io.out(dbHelp);
    return sub === undefined ? ExitCode.Usage : ExitCode.Ok;
  }
  if (sub !== 'migrate') throw new UsageError(`unknown db command: ${sub} (fota db migrate)`);
  const { values } = parseOptions(rest, { data: { type: 'string' }, database: { type: 'string' } });
  if (values.help) return io.out(dbHelp), ExitCode.Ok;
  const config = loadConfig(process.env, {
    ...(values.data ? { dataDir: resolve(values.data) } : {}),
    ...(values.database === undefined ? {} : { databaseUrl: databaseUrlOption(values.database, '--database') }),
  });
  const report = await migrateDatabase(config);
  for (const tag of report.applied) io.out(`applied ${tag}\n`);
  io.out(
    report.applied.length === 0
      ? `${report.location} is up to date (${report.total} migration${report.total === 1 ? '' : 's'})\n`
      : `${report.location}: applied ${report.applied.length} of ${report.total} migration${report.total === 1 ? '' : 's'}\n`,
  );
  return ExitCode.Ok;
}
