// Enrollment batches: an operator creates one for a model from a list of device ids or a
// count; fota generates each device's DM account and registers the device with it. With
// a claim, every device of the batch starts on one shared credential and receives its own
// at its first DM session (first-contact.ts). The secrets are sealed at rest and handed out
// once, by the export (export.ts).
import { randomBytes } from 'node:crypto';
import type { Context } from '../context.ts';
import { AppError } from '../errors.ts';
import { assertNodeName } from '../omadm/provisioning/dm-account.ts';
import { newId } from '../store/ids.ts';
import { keysetPage, type Page, type PageRequest } from '../store/page.ts';
import { recordAudit } from '../store/queries/audit.ts';
import { batchesPage, batchStateCounts, type EnrollmentBatchRow, findBatch, findBatchByClaim, insertBatch, insertDevices, insertEnrollments, registeredAmong } from '../store/queries/enrollments.ts';
import type { Tx } from '../store/store.ts';
import { auditActor, type Principal } from '../tokens/tokens.ts';
import { newSecret, seal } from './accounts.ts';
import type { BatchView, CreateBatch } from './schemas.ts';

/** Where the request came from, for the default server address. */
export interface CreateContext {
  origin: string;
}

export async function createBatch(ctx: Context, principal: Principal, request: CreateBatch, from: CreateContext): Promise<BatchView> {
  const now = ctx.clock.now();
  const id = newId('enb');
  const serverId = ctx.config.dm.serverId;
  assertNodeName(serverId, 'the server id (FOTA_DM_SERVER_ID), which names the devices\' ./DMAcc node,');
  const serverAddress = request.serverAddress ?? `${ctx.config.dm.publicUrl ?? from.origin}/dm`;
  const ids = request.deviceIds ?? Array.from({ length: request.count ?? 0 }, () => `SN:${randomBytes(8).toString('hex').toUpperCase()}`);
  const authType = request.authType ?? 'md5';
  // Sealing is CPU work: done before the transaction, which then only writes.
  const claim = request.claim ? { name: request.claim.name, secret: seal(ctx.vault, newSecret()), serverSecret: seal(ctx.vault, newSecret()) } : undefined;
  const rows = ids.map((deviceId) => {
    const own = claim ? undefined : { secret: seal(ctx.vault, newSecret()), serverSecret: seal(ctx.vault, newSecret()) };
    const secret = claim?.secret ?? own?.secret;
    const serverSecret = claim?.serverSecret ?? own?.serverSecret;
    if (!secret || !serverSecret) throw new AppError('INTEGRITY', 'no credentials for a device of the batch');
    return {
      device: {
        id: deviceId,
        model: request.model,
        firmwareVersion: null,
        tags: JSON.stringify(request.tags ?? []),
        createdAt: now,
        authType,
        // On a claim the device presents the claim's name until it has its own (its DevId).
        authName: claim?.name ?? deviceId,
        authSecretSealed: secret.sealed,
        authSecretNonce: secret.nonce,
        serverSecretSealed: serverSecret.sealed,
        serverSecretNonce: serverSecret.nonce,
        webhookUrl: null,
      },
      enrollment: { deviceId, batchId: id, state: claim ? ('awaiting-claim' as const) : ('issued' as const) },
    };
  });
  await ctx.db.transaction(async (tx) => {
    if (claim && (await findBatchByClaim(tx, claim.name))) throw new AppError('CONFLICT', `claim ${claim.name} is already used by another batch: each batch gets a claim of its own`);
    const taken = await registeredAmong(tx, ids);
    if (taken.length > 0) throw new AppError('CONFLICT', `${taken.length} of the devices are already registered (${taken.slice(0, 5).join(', ')}${taken.length > 5 ? ', ...' : ''}): a batch registers new devices only`);
    await insertBatch(tx, {
      id,
      name: request.name,
      model: request.model,
      size: ids.length,
      serverId,
      serverAddress,
      authType,
      claimName: claim?.name ?? null,
      claimSecretSealed: claim?.secret.sealed ?? null,
      claimSecretNonce: claim?.secret.nonce ?? null,
      claimServerSecretSealed: claim?.serverSecret.sealed ?? null,
      claimServerSecretNonce: claim?.serverSecret.nonce ?? null,
      subscriberNode: request.subscriberNode ?? null,
      createdBy: principal.personId,
      createdByName: principal.name,
      createdAt: now,
    });
    await insertDevices(tx, rows.map((r) => r.device));
    await insertEnrollments(tx, rows.map((r) => r.enrollment));
    // The audit keeps what was created, never a secret.
    await recordAudit(tx, { ...auditActor(principal), action: 'enroll.batch-create', subject: id, details: { name: request.name, model: request.model, size: ids.length, authType, claim: claim?.name ?? null, serverAddress, subscriberNode: request.subscriberNode ?? null } }, now);
  });
  return batchView(ctx, id);
}

export async function batchView(ctx: Context, id: string): Promise<BatchView> {
  const row = await findBatch(ctx.db, id);
  if (!row) throw new AppError('NOT_FOUND', `no enrollment batch ${id}`);
  return toView(ctx.db, row);
}

export function listBatches(ctx: Context, query: PageRequest): Promise<Page<BatchView>> {
  return keysetPage('enrollments', query, (after, limit) => batchesPage(ctx.db, after, limit), (row) => row.id, (row) => toView(ctx.db, row));
}

export async function toView(tx: Tx, row: EnrollmentBatchRow): Promise<BatchView> {
  const counts = await batchStateCounts(tx, row.id);
  return {
    id: row.id,
    name: row.name,
    model: row.model,
    size: row.size,
    authType: row.authType,
    serverId: row.serverId,
    serverAddress: row.serverAddress,
    claim: row.claimName === null ? null : { name: row.claimName },
    subscriberNode: row.subscriberNode,
    createdBy: row.createdByName,
    createdAt: new Date(row.createdAt).toISOString(),
    exportedAt: row.exportedAt === null ? null : new Date(row.exportedAt).toISOString(),
    devices: { issued: counts.issued ?? 0, awaitingClaim: counts['awaiting-claim'] ?? 0, enrolled: counts.enrolled ?? 0 },
  };
}
