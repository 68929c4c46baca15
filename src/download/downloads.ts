// What every download of a server process shares: the block cache, the campaigns' budgets,
// and what is kept between requests so that a request costs little besides its bytes
// (bench:download): tokens already checked, package rows, object stats, and bytes served
// written in batches; and each deployment's downloads under way (under-way.ts).
import type { Context } from '../context.ts';
import { DOWNLOAD_KEY_PURPOSE } from '../deployments/download-grant.ts';
import { downloadDeploymentOf, type DownloadDeployment } from '../store/queries/budgets.ts';
import { BlockCache } from './block-cache.ts';
import { CampaignBudgets } from './budget.ts';
import { CheckedGrants } from './grants.ts';
import { LocalObjects } from './local-objects.ts';
import { DownloadPackages } from './packages.ts';
import { ServedLedger } from './served-ledger.ts';
import { sendfileMissing } from './sendfile-addon.ts';
import { WRITE_BYTES } from './source.ts';
import { DownloadsUnderWay } from './under-way.ts';

export interface Downloads {
  cache: BlockCache;
  /** Per-campaign bandwidth budgets: one token bucket per campaign for this process's downloads. */
  budgets: CampaignBudgets;
  grants: CheckedGrants;
  packages: DownloadPackages;
  objects: LocalObjects;
  ledger: ServedLedger;
  /** The deployment's state and its campaign's budget: one read per request. */
  deployment(deploymentId: string): Promise<DownloadDeployment | undefined>;
  /** Local packages may go out by sendfile (configured, and the addon is built). */
  sendfile: boolean;
  /** Each deployment's downloads under way, held to FOTA_DOWNLOAD_MAX_PER_DEPLOYMENT. */
  underWay: DownloadsUnderWay;
}

export function createDownloads(ctx: Context): Downloads {
  if (ctx.config.download.sendfile && sendfileMissing) ctx.log.warn(`downloads copy each byte through JavaScript: ${sendfileMissing}`);
  return {
    cache: new BlockCache(ctx.config.download.cacheBytes),
    budgets: new CampaignBudgets(WRITE_BYTES),
    grants: new CheckedGrants(ctx.vault.deriveKey(DOWNLOAD_KEY_PURPOSE)),
    packages: new DownloadPackages(ctx),
    objects: new LocalObjects(ctx),
    ledger: new ServedLedger(ctx),
    deployment: (deploymentId) => downloadDeploymentOf(ctx.db, deploymentId),
    sendfile: ctx.config.download.sendfile && sendfileMissing === undefined,
    underWay: new DownloadsUnderWay(),
  };
}
