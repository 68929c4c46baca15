// An operator's reset of one enrolled device that lost its credentials (it acknowledged a
// rotation, then lost the secret: every session of its is refused, and its claim no longer
// works). The device gets new credentials of its own at once (the old ones, and any
// unconfirmed rotation, stop working), goes back to `issued` (enrolled again at its first
// session, as a device bootstrapped with its own credentials), and the answer is a fresh
// export for that device alone: its three bootstrap documents and a manifest, for the PC
// tool or smartcard that re-flashes it. Audited with the operator's reason; the secrets
// appear only in that answer.
import type { Context } from '../context.ts';
import { AppError } from '../errors.ts';
import { recordAudit } from '../store/queries/audit.ts';
import { updateDevice } from '../store/queries/devices.ts';
import { enrollmentOf, updateEnrollment } from '../store/queries/enrollments.ts';
import { auditActor, type Principal } from '../tokens/tokens.ts';
import { accountFor, newSecret, seal } from './accounts.ts';
import { toView } from './batches.ts';
import { deviceFiles, manifestFile, uniqueStem } from './export.ts';
import { clearedPending } from './first-contact.ts';
import type { BatchExport } from './schemas.ts';

export async function resetEnrolledDevice(ctx: Context, principal: Principal, deviceId: string, request: { reason: string }): Promise<BatchExport> {
  const now = ctx.clock.now();
  const secret = newSecret();
  const serverSecret = newSecret();
  // Sealing is CPU work: before the transaction, which then only writes.
  const sealed = seal(ctx.vault, secret);
  const serverSealed = seal(ctx.vault, serverSecret);
  const { batch, view } = await ctx.db.transaction(async (tx) => {
    const found = await enrollmentOf(tx, deviceId);
    if (!found) throw new AppError('NOT_FOUND', `device ${deviceId} came through no enrollment batch: reset applies to enrolled devices (a registered device's credentials are the operator's own)`);
    const { batch, enrollment } = found;
    await updateDevice(tx, deviceId, { authName: deviceId, authSecretSealed: sealed.sealed, authSecretNonce: sealed.nonce, serverSecretSealed: serverSealed.sealed, serverSecretNonce: serverSealed.nonce, authFailures: 0, authLockedUntil: null });
    await updateEnrollment(tx, deviceId, { state: 'issued', ...clearedPending() });
    // The audit keeps who, why and what state the device left, never a secret.
    await recordAudit(tx, { ...auditActor(principal), action: 'enroll.reset', subject: deviceId, details: { batchId: batch.id, reason: request.reason, was: enrollment.state } }, now);
    return { batch, view: await toView(tx, batch) };
  });
  const written = deviceFiles(batch, deviceId, accountFor(batch, { name: deviceId, secret }, serverSecret), uniqueStem(deviceId, new Set()));
  return { batch: view, files: [manifestFile([written.manifestRow]), ...written.files] };
}
