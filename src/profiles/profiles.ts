// Configuration profiles: create a version (the profile itself on its first), list, show,
// and resolve `NAME@VERSION`. Versions are immutable: a change is a new version, so a
// campaign, an application and a drift check always name exactly what they sent.
import type { Context } from '../context.ts';
import { AppError } from '../errors.ts';
import { newId } from '../store/ids.ts';
import { recordAudit } from '../store/queries/audit.ts';
import { findProfileByName, findVersion, findVersionById, insertProfile, insertVersion, latestVersionOf, listProfiles, type ProfileRow, type ProfileVersionRow, setProvisioningProfile, versionsOf } from '../store/queries/profiles.ts';
import type { Store, Tx } from '../store/store.ts';
import { auditActor, type Principal } from '../tokens/tokens.ts';
import { type CreateProfile, type ProfileOperation, type ProfileSummary, type ProfileVersionView, type ProfileView, profileOperationsSchema } from './schemas.ts';

/** Profiles listed at most (operators keep a handful per model). */
const LIST_LIMIT = 500;

export async function createProfileVersion(ctx: Context, principal: Principal, request: CreateProfile): Promise<{ id: string; profileId: string; name: string; model: string; version: number }> {
  const now = ctx.clock.now();
  return ctx.db.transaction(async (tx) => {
    let profile = await findProfileByName(tx, request.name, { forUpdate: true });
    if (profile && profile.model !== request.model) {
      throw new AppError('VALIDATION', `profile ${request.name} is for model ${profile.model}, not ${request.model}; a profile holds one model's settings (choose another name)`);
    }
    if (!profile) {
      profile = { id: newId('prf'), name: request.name, model: request.model, provisioning: false, createdBy: principal.personId, createdAt: now };
      await insertProfile(tx, profile);
    }
    const version = ((await latestVersionOf(tx, profile.id))?.version ?? 0) + 1;
    const id = newId('prv');
    await insertVersion(tx, { id, profileId: profile.id, version, operations: JSON.stringify(request.operations), description: request.description ?? null, createdBy: principal.personId, createdByName: principal.name, createdAt: now });
    if (request.provisioning) await setProvisioningProfile(tx, profile.model, profile.id);
    await recordAudit(tx, { ...auditActor(principal), action: 'profile.version.create', subject: profile.id, details: { name: profile.name, model: profile.model, version, profileVersionId: id, operations: request.operations.length, provisioning: request.provisioning ?? null } }, now);
    return { id, profileId: profile.id, name: profile.name, model: profile.model, version };
  });
}

export async function listProfileSummaries(ctx: Context): Promise<ProfileSummary[]> {
  const rows = await listProfiles(ctx.db, LIST_LIMIT);
  return Promise.all(rows.map(async (row) => summaryOf(row, (await latestVersionOf(ctx.db, row.id))?.version ?? 0)));
}

export async function profileView(ctx: Context, name: string): Promise<ProfileView> {
  const profile = await findProfileByName(ctx.db, name);
  if (!profile) throw new AppError('NOT_FOUND', `no profile ${name}`);
  const versions = await versionsOf(ctx.db, profile.id);
  return { ...summaryOf(profile, versions.at(-1)?.version ?? 0), versions: versions.map((v) => versionView(v, profile)) };
}

export async function profileVersionView(ctx: Context, name: string, version: number): Promise<ProfileVersionView> {
  const profile = await findProfileByName(ctx.db, name);
  if (!profile) throw new AppError('NOT_FOUND', `no profile ${name}`);
  const row = await findVersion(ctx.db, profile.id, version);
  if (!row) throw new AppError('NOT_FOUND', `profile ${name} has no version ${version}`);
  return versionView(row, profile);
}

export interface ResolvedVersion {
  id: string;
  profileId: string;
  name: string;
  model: string;
  version: number;
  operations: ProfileOperation[];
}

/** `NAME@VERSION` (or NAME: its newest version) to the version, in the caller's transaction or store. */
export async function resolveProfileRef(tx: Tx | Store, ref: string): Promise<ResolvedVersion> {
  const [name = '', versionText] = ref.split('@');
  const profile = await findProfileByName(tx, name);
  if (!profile) throw new AppError('NOT_FOUND', `no profile ${name}`);
  const row = versionText === undefined ? await latestVersionOf(tx, profile.id) : await findVersion(tx, profile.id, Number(versionText));
  if (!row) throw new AppError('NOT_FOUND', versionText === undefined ? `profile ${name} has no version` : `profile ${name} has no version ${versionText}`);
  return resolved(row, profile);
}

export async function resolveVersionId(tx: Tx | Store, id: string): Promise<ResolvedVersion> {
  const row = await findVersionById(tx, id);
  if (!row) throw new AppError('NOT_FOUND', `no profile version ${id}`);
  return { id: row.id, profileId: row.profileId, name: row.name, model: row.model, version: row.version, operations: operationsOf(row) };
}

/** A version's operations as stored (checked again: a row is read back through the same schema it was written with). */
export function operationsOf(row: Pick<ProfileVersionRow, 'operations'>): ProfileOperation[] {
  return profileOperationsSchema.parse(JSON.parse(row.operations));
}

/** Refuses a profile version for another model than the device's (or cohort's). */
export function requireModel(version: Pick<ResolvedVersion, 'name' | 'version' | 'model'>, model: string, what: string): void {
  if (version.model !== model) throw new AppError('VALIDATION', `profile ${version.name}@${version.version} is for model ${version.model}; ${what} is ${model}`);
}

function resolved(row: ProfileVersionRow, profile: ProfileRow): ResolvedVersion {
  return { id: row.id, profileId: profile.id, name: profile.name, model: profile.model, version: row.version, operations: operationsOf(row) };
}

function summaryOf(row: ProfileRow, latestVersion: number): ProfileSummary {
  return { id: row.id, name: row.name, model: row.model, provisioning: row.provisioning, latestVersion, createdAt: new Date(row.createdAt).toISOString() };
}

function versionView(row: ProfileVersionRow, profile: ProfileRow): ProfileVersionView {
  return { id: row.id, profile: profile.name, model: profile.model, version: row.version, description: row.description, operations: operationsOf(row), createdBy: row.createdByName, createdAt: new Date(row.createdAt).toISOString() };
}
