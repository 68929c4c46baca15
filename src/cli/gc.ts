// `fota gc`: removes artifacts no database row references. It opens the server's
// database and artifact store itself, so it needs no server; a running server may keep
// running, since only objects older than the grace period are touched.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { collectGarbage } from '../artifacts/collect-garbage.ts';
import { databaseUrlOption, loadConfig } from '../config.ts';
import { systemClock } from '../context.ts';
import { createArtifactStore } from '../store/artifacts/index.ts';
import { openStore } from '../store/open.ts';
import { DATABASE_FILE } from '../store/sqlite.ts';
import { ExitCode, formatBytes, integerOption, type Output, parseOptions, UsageError } from './io.ts';

export const gcHelp = `Usage: fota gc [--data DIR | --database URL] [--artifacts DIR] [--grace-minutes N] [--dry-run]

Removes the artifacts (build images, package files) that no build or package in the
database references: the image of an upload refused after its bytes arrived, the file
of a package job that was interrupted. Prints each one and the bytes freed.

Never removed: an upload in progress (it is staged, not yet an artifact), and an
artifact stored less than the grace period ago (its row may be on its way). When the
store holds none of the artifacts the database references, gc removes nothing: the two
are not one server's.

  --data DIR          the server's data directory (FOTA_DATA, default ./data)
  --database URL      its PostgreSQL database instead (FOTA_DATABASE_URL: postgres://...)
  --artifacts DIR     its artifact directory (FOTA_ARTIFACTS, default ./artifacts), or
                      the bucket when FOTA_S3_ENDPOINT/BUCKET/ACCESS_KEY/SECRET_KEY are set
  --grace-minutes N   only artifacts stored more than N minutes ago
                      (FOTA_GC_GRACE_MINUTES, default 60). 0 takes every unreferenced
                      one, also an upload's that is about to be recorded: only with no
                      server running.
  --dry-run           print what would be removed; remove nothing

fota serve runs the same sweep once at start, in the background.
Exit codes: 0 done, 2 usage error or a store and database that do not belong together.
`;

export async function gcCommand(args: string[], io: Output): Promise<number> {
  const { values } = parseOptions(args, { data: { type: 'string' }, database: { type: 'string' }, artifacts: { type: 'string' }, 'grace-minutes': { type: 'string' }, 'dry-run': { type: 'boolean' } });
  if (values.help) return io.out(gcHelp), ExitCode.Ok;
  const graceMinutes = integerOption(values['grace-minutes'], '--grace-minutes', 0);
  const config = loadConfig(process.env, {
    ...(values.data ? { dataDir: values.data } : {}),
    ...(values.database === undefined ? {} : { databaseUrl: databaseUrlOption(values.database, '--database') }),
    ...(values.artifacts ? { artifactsDir: values.artifacts } : {}),
  });
  // Opening a database that is not there would create an empty one, in which every
  // artifact looks unreferenced.
  const dbFile = join(config.dataDir, DATABASE_FILE);
  if (config.databaseUrl === undefined && !existsSync(dbFile)) throw new UsageError(`no database at ${dbFile}; give --data the server's data directory`);
  const graceMs = graceMinutes === undefined ? config.gcGraceMs : graceMinutes * 60_000;
  const dryRun = values['dry-run'] === true;
  const db = await openStore(config);
  try {
    const artifacts = await createArtifactStore({ artifactsDir: config.artifactsDir, ...(config.s3 ? { s3: config.s3 } : {}) });
    const verb = dryRun ? 'would remove' : 'removed';
    const report = await collectGarbage(
      { db, artifacts, clock: systemClock },
      { graceMs, dryRun, onRemove: (object) => io.out(`${verb} ${object.sha256}  ${formatBytes(object.size)} bytes\n`) },
    );
    const minutes = graceMs / 60_000;
    const young = graceMs > 0 ? `, ${report.young} stored less than ${minutes} minute${minutes === 1 ? '' : 's'} ago` : '';
    io.out(`${verb} ${report.removed.length} artifact${report.removed.length === 1 ? '' : 's'}, ${formatBytes(report.removedBytes)} bytes; kept ${report.referenced} referenced${young}\n`);
    return ExitCode.Ok;
  } finally {
    await db.close();
  }
}
