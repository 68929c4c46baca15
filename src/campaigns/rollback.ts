// A rollback campaign: a draft that brings the devices a campaign updated back to the
// build their model had before the campaign's build. Refused, with the reason, when the
// devices would refuse it: a device accepts a package only if its target securityVersion
// is at least the device's own (anti-rollback, FUMO 405), and a device that installed the
// campaign's build holds that build's securityVersion. The operator then rolls forward
// instead: a fixed build with a securityVersion at least as high. The cohort names the
// campaign (cohort.updatedByCampaign), so a rollback of any number of devices is one draft.
import type { Context } from '../context.ts';
import { AppError } from '../errors.ts';
import { findBuild } from '../store/queries/builds.ts';
import { findCampaign } from '../store/queries/campaigns.ts';
import { countUpdatedDevices, previousBuildOf } from '../store/queries/rollback.ts';
import type { Principal } from '../tokens/tokens.ts';
import { createCampaign } from './create.ts';
import { windowOf } from '../schedule/window.ts';

export interface RollbackResult {
  id: string;
  buildId: string;
  version: string;
  devices: number;
}

export async function rollbackCampaign(ctx: Context, principal: Principal, id: string, reason?: string): Promise<RollbackResult> {
  const source = await findCampaign(ctx.db, id);
  if (!source) throw new AppError('NOT_FOUND', `no campaign ${id}`);
  if (source.state === 'running' || source.state === 'paused') {
    throw new AppError('CONFLICT', `campaign ${id} is ${source.state}; abort it first (fota campaign abort ${id}), then roll back the devices it updated`);
  }
  if (source.state === 'draft') throw new AppError('CONFLICT', `campaign ${id} never started; it updated no device`);
  if (source.kind === 'application') throw new AppError('CONFLICT', `campaign ${id} is an application campaign; undo it with an application campaign of the version to return to (or a removal)`);
  if (source.buildId === null) throw new AppError('CONFLICT', `campaign ${id} is a configuration campaign; undo it with a configuration campaign of the profile version to return to`);
  const target = await findBuild(ctx.db, source.buildId);
  if (!target) throw new AppError('NOT_FOUND', `no build ${source.buildId}`);
  const previous = await previousBuildOf(ctx.db, target);
  if (!previous) throw new AppError('CONFLICT', `model ${target.model} has no ready build before ${target.version} to roll back to`);
  if (previous.securityVersion < target.securityVersion) {
    throw new AppError(
      'CONFLICT',
      `cannot roll back to ${target.model} ${previous.version}: its securityVersion ${previous.securityVersion} is below ${target.version}'s ${target.securityVersion}, which the updated devices now hold, and a device refuses a lower securityVersion (anti-rollback, FUMO 405). Roll forward instead: upload a fixed build with securityVersion ${target.securityVersion} or higher and run a campaign to it.`,
      { details: { rule: 'anti-rollback', from: target.version, to: previous.version, deviceSecurityVersion: target.securityVersion, buildSecurityVersion: previous.securityVersion } },
    );
  }
  const devices = await countUpdatedDevices(ctx.db, id);
  if (devices === 0) throw new AppError('CONFLICT', `campaign ${id} updated no device; there is nothing to roll back`);
  const window = windowOf(source.window);
  const created = await createCampaign(
    ctx,
    principal,
    {
      name: `rollback of ${source.name}`.slice(0, 200),
      buildId: previous.id,
      // Named, not listed: the database matches the campaign's updated devices when the
      // rollback starts, however many (a list of ids would be capped by the API's limit).
      cohort: { model: source.model, updatedByCampaign: id },
      stages: [{ percent: 100, requiresApproval: false }],
      successThreshold: source.successThreshold,
      failureThreshold: source.failureThreshold,
      minSample: source.minSample,
      soakSeconds: 0,
      timeoutMinutes: source.timeoutMs / 60_000,
      dynamic: false,
      ...(window ? { maintenanceWindow: window } : {}),
    },
    { rollbackOf: { campaignId: id, reason: reason ?? null, fromVersion: target.version, devices } },
  );
  return { id: created.id, buildId: previous.id, version: previous.version, devices };
}
