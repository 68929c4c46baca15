// What a package job embeds from the manufacturer's offline signing: the build's target
// statement and every registered root (version 1 and its rotations), read when the job
// runs, so a package made after a rotation carries it to devices. A build uploaded
// without a statement gets formatVersion 1 packages, as before offline signing.
import type { Context } from '../../context.ts';
import { offlineTrustOf } from '../../manufacturers/offline-keys.ts';
import { parseTargetStatement } from '../../signing/target-statement.ts';
import { statementOfBuild } from '../../store/queries/offline-signing.ts';
import type { OfflineSignatures } from '../manifest.ts';

export async function offlineSignaturesFor(ctx: Context, buildId: string, manufacturerId: string): Promise<OfflineSignatures | undefined> {
  const row = await statementOfBuild(ctx.db, buildId);
  if (!row) return undefined;
  const { trust } = await offlineTrustOf(ctx.db, manufacturerId);
  return { target: parseTargetStatement(row.envelope, `target statement of build ${buildId}`), roots: trust?.roots ?? [] };
}
