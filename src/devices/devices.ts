// Registering devices (with their DM credentials, sealed at rest) and reading them back.
import type { Context } from '../context.ts';
import { assertWebhookUrl } from '../omadm/notifier.ts';
import { assertPublicWebhookHost } from '../omadm/webhook-address.ts';
import { AppError } from '../errors.ts';
import { isUniqueViolation } from '../store/conflicts.ts';
import { appPayloadLabel } from '../scomo/payload-label.ts';
import { appOperationsOf } from '../store/queries/app-campaigns.ts';
import { recordAudit } from '../store/queries/audit.ts';
import { countDevices, deploymentsOf, type DeviceRow, findDevice, insertDevice, listDevices } from '../store/queries/devices.ts';
import { auditActor, type Principal } from '../tokens/tokens.ts';
import type { DeviceView, RegisterDevice } from './schemas.ts';

export type InventoryTree = Record<string, { value: string; at: number }>;

export async function registerDevice(ctx: Context, principal: Principal, request: RegisterDevice): Promise<DeviceView> {
  if (request.webhookUrl !== undefined) {
    // Credentials in the URL are refused whatever the setting: fetch-style clients cannot send them.
    const url = assertWebhookUrl(request.webhookUrl);
    if (!ctx.config.dm.allowPrivateWebhooks) assertPublicWebhookHost(url);
  }
  const now = ctx.clock.now();
  const secret = ctx.vault.seal(new TextEncoder().encode(request.credentials.password));
  const server = request.serverPassword ? ctx.vault.seal(new TextEncoder().encode(request.serverPassword)) : undefined;
  const registered = new AppError('CONFLICT', `device ${request.id} is already registered`);
  await ctx.db.transaction(async (tx) => {
    if (await findDevice(tx, request.id)) throw registered;
    await insertDevice(tx, {
      id: request.id,
      model: request.model,
      firmwareVersion: request.firmwareVersion ?? null,
      tags: JSON.stringify(request.tags ?? []),
      createdAt: now,
      authType: request.credentials.authType ?? 'md5',
      authName: request.credentials.username,
      authSecretSealed: secret.sealed,
      authSecretNonce: secret.nonce,
      serverSecretSealed: server?.sealed ?? null,
      serverSecretNonce: server?.nonce ?? null,
      webhookUrl: request.webhookUrl ?? null,
    });
    // The audit keeps what was registered, never the passwords.
    await recordAudit(tx, { ...auditActor(principal), action: 'device.register', subject: request.id, details: { model: request.model, firmwareVersion: request.firmwareVersion ?? null, authType: request.credentials.authType ?? 'md5' } }, now);
  }).catch((err: unknown) => {
    // Registered at the same moment by another request (or server process): its key stands.
    throw isUniqueViolation(err) ? registered : err;
  });
  return deviceView(ctx, request.id);
}

export async function deviceRow(ctx: Context, id: string): Promise<DeviceRow> {
  const row = await findDevice(ctx.db, id);
  if (!row) throw new AppError('NOT_FOUND', `no device ${id}`);
  return row;
}

export function parseInventory(row: DeviceRow): InventoryTree {
  return JSON.parse(row.inventory) as InventoryTree;
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

export async function deviceView(ctx: Context, id: string): Promise<DeviceView> {
  const row = await deviceRow(ctx, id);
  const deployments = await deploymentsOf(ctx.db, id);
  // An application campaign's deployment has neither build nor profile: name its application.
  const campaignIds = [...new Set(deployments.flatMap((d) => (d.campaignId !== null && d.buildId === null ? [d.campaignId] : [])))];
  const apps = new Map((await appOperationsOf(ctx.db, campaignIds)).map((c) => [c.id, appPayloadLabel(c, c.version)]));
  return {
    id: row.id,
    model: row.model,
    manufacturer: row.manufacturer,
    firmwareVersion: row.firmwareVersion,
    tags: JSON.parse(row.tags) as string[],
    authType: row.authType,
    createdAt: new Date(row.createdAt).toISOString(),
    lastSeen: iso(row.lastSeen),
    inventory: Object.fromEntries(Object.entries(parseInventory(row)).map(([uri, v]) => [uri, { value: v.value, at: new Date(v.at).toISOString() }])),
    deployments: deployments.map((d) => ({ id: d.id, buildId: d.buildId, packageId: d.packageId, app: (d.campaignId === null ? undefined : apps.get(d.campaignId)) ?? null, state: d.state, resultCode: d.resultCode })),
  };
}

/** The device's DM password, unsealed for digest checks (digest auth needs the clear text). */
export function devicePassword(ctx: Context, row: DeviceRow): string {
  return new TextDecoder().decode(ctx.vault.open(row.authSecretSealed, row.authSecretNonce));
}

export function serverPassword(ctx: Context, row: DeviceRow): string | undefined {
  if (!row.serverSecretSealed || !row.serverSecretNonce) return undefined;
  return new TextDecoder().decode(ctx.vault.open(row.serverSecretSealed, row.serverSecretNonce));
}

/** A device as a list shows it: no inventory, no deployments. */
export interface DeviceSummary {
  id: string;
  model: string;
  firmwareVersion: string | null;
  tags: string[];
  lastSeen: string | null;
}

export interface DevicePage {
  devices: DeviceSummary[];
  /** Devices matching the prefix, on every page. */
  total: number;
  /** Pass as `after` for the next page; null on the last one. */
  next: string | null;
}

/** A page of devices in id order, optionally only ids starting with `prefix`. */
export async function deviceSummaries(ctx: Context, options: { prefix?: string; after?: string; limit: number }): Promise<DevicePage> {
  // One row more than asked tells whether another page follows.
  const rows = await listDevices(ctx.db, { ...options, limit: options.limit + 1 });
  const page = rows.slice(0, options.limit);
  return {
    devices: page.map((row) => ({ id: row.id, model: row.model, firmwareVersion: row.firmwareVersion, tags: JSON.parse(row.tags) as string[], lastSeen: iso(row.lastSeen) })),
    total: await countDevices(ctx.db, options.prefix),
    next: rows.length > options.limit ? (page.at(-1)?.id ?? null) : null,
  };
}
