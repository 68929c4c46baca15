// First contact: what fota does in a device's DM session because the device came through
// an enrollment batch.
//
// - A device still on its batch's claim credential is checked against the batch (listed:
//   it has an enrollment row; model: the Mod it reports; not enrolled before: still
//   awaiting its claim), then given credentials of its own by Replace of its DMAcc AppAuth
//   nodes. The new credentials take effect (its devices row) only once the device's
//   Status says every Replace succeeded; until then the claim still works, and a refusal
//   drops them. Afterwards the claim no longer opens a session for that device.
// - A device whose subscriber identity (the batch's subscriberNode, e.g. an IMSI under
//   ./DevDetail/Ext) changes is provisioned again: new credentials, and the provisioning
//   hook below again.
// - A device bootstrapped with its own credentials is marked enrolled at its first session.
//
// `prepareContact` runs before the message's transaction (it reads, and seals new secrets);
// `contactCommands` and `settleContact` run inside it, with `tx` all the way down.
import type { Context } from '../context.ts';
import { appAuthPaths } from '../omadm/provisioning/dm-account.ts';
import { recordAudit } from '../store/queries/audit.ts';
import { updateDevice } from '../store/queries/devices.ts';
import { type EnrollmentBatchRow, type EnrollmentRow, enrollmentOf, updateEnrollment } from '../store/queries/enrollments.ts';
import type { Tx } from '../store/store.ts';
import { queueReprovisioning } from '../profiles/reprovision.ts';
import { newSecret, type Sealed, seal } from './accounts.ts';

/** A DM command first contact sends (the DM layer gives it a CmdID and awaits its Status). */
export interface ProvisioningCommand {
  kind: 'Get' | 'Replace';
  uri: string;
  data?: string;
  format?: 'chr';
  /** The value is a secret: what the DM session keeps of the command holds it only sealed. */
  secret?: boolean;
}

export type ProvisioningReason = 'claim' | 'subscriber-changed' | 'bootstrap';

export interface FirstContact {
  deviceId: string;
  model: string;
  batchId: string;
  reason: ProvisioningReason;
  now: number;
}

/**
 * The model's provisioning profile at first contact: commands returned here are sent in
 * the same message, right after the credentials. A claimed device, or one first seen after
 * a bootstrap, has never had the profile: the session's first turn queues it already
 * (profiles/session-work.ts, "once per device"). A used device whose subscriber changed is
 * provisioned again, overriding what it holds: its application is queued here and the
 * session sends it at its next turn, with the Statuses of the credentials (profiles/
 * reprovision.ts). It runs in the message's transaction.
 */
export async function provisioningAtFirstContact(tx: Tx, contact: FirstContact): Promise<ProvisioningCommand[]> {
  if (contact.reason === 'subscriber-changed') {
    const applicationId = await queueReprovisioning(tx, { id: contact.deviceId, model: contact.model }, contact.now);
    if (applicationId) await recordAudit(tx, { actor: 'dm', action: 'device.reprovisioning-queued', subject: contact.deviceId, details: { batchId: contact.batchId, applicationId } }, contact.now);
  }
  return [];
}

/** What the DM layer tells first contact about one message of a session. */
export interface ContactInput {
  deviceId: string;
  /** This message starts a DM session (the device just authenticated). */
  startsSession: boolean;
  /** The device authenticated with the credentials of its unconfirmed rotation (pending-credentials.ts): they commit. */
  authenticatedWithPending?: boolean;
  /** Node values the device reported in this message (DevInfo, Results). */
  reported: Record<string, string>;
  /** First-contact commands of this session that this message answers, with their Status codes. */
  answered: Array<{ kind: string; uri: string; code: number | undefined }>;
  /** First-contact commands of this session still without a Status after this message. */
  stillAwaiting: Array<{ kind: string; uri: string }>;
}

export type ContactStep =
  | { kind: 'refuse'; reason: string; batchId: string }
  | {
      kind: 'proceed';
      enrollment: EnrollmentRow;
      batch: EnrollmentBatchRow;
      input: ContactInput;
      /** New credentials to send (sealed for the pending columns, clear for the Replace). */
      rotation?: { reason: ProvisioningReason; secret: string; serverSecret: string; sealed: Sealed; serverSealed: Sealed };
      /** Reads to send: the subscriber node at the start of a session. */
      reads: ProvisioningCommand[];
      /**
       * The credentials sent earlier: every Replace succeeded (commit), or one failed (drop,
       * with its code); or the device authenticated with them though their Status was lost.
       */
      confirmed?: { ok: true; by: 'status' | 'authentication' } | { ok: false; code: number | undefined; uri: string };
      /** A new session on the current credentials while a rotation is pending: the device did not keep it; it is dropped (or sent again). */
      unconfirmed: boolean;
      /** The device has no enrollment bookkeeping beyond this: marked enrolled at first sight (bootstrap). */
      firstSight: boolean;
      now: number;
    };

/**
 * Reads the device's enrollment and decides this message's part; undefined for a device no
 * batch enrolled. `known`: the enrollment as the message already read it with the device
 * (null: none), so it is not read again.
 */
export async function prepareContact(ctx: Context, input: ContactInput, known?: { enrollment: EnrollmentRow; batch: EnrollmentBatchRow } | null): Promise<ContactStep | undefined> {
  const found = known === undefined ? await enrollmentOf(ctx.db, input.deviceId) : known;
  if (!found) return undefined;
  const { enrollment, batch } = found;
  const paths = appAuthPaths(batch.serverId);
  const credentialNodes = new Set([paths.clientName, paths.clientSecret, paths.serverSecret]);

  if (input.startsSession && enrollment.state === 'awaiting-claim') {
    const reported = input.reported['./DevInfo/Mod'];
    if (reported !== batch.model) {
      return { kind: 'refuse', batchId: batch.id, reason: reported === undefined ? `the device did not report its model (./DevInfo/Mod); batch ${batch.id} is for ${batch.model}` : `the device reports model ${JSON.stringify(reported.slice(0, 128))}; batch ${batch.id} is for ${batch.model}` };
    }
  }

  const answeredCredentials = input.answered.filter((a) => a.kind === 'Replace' && credentialNodes.has(a.uri));
  let confirmed: Extract<ContactStep, { kind: 'proceed' }>['confirmed'];
  const pending = enrollment.pendingSecretSealed !== null;
  if (input.startsSession && input.authenticatedWithPending === true && pending) confirmed = { ok: true, by: 'authentication' };
  else if (answeredCredentials.length > 0 && pending) {
    const failed = answeredCredentials.find((a) => a.code === undefined || a.code < 200 || a.code > 299);
    if (failed) confirmed = { ok: false, code: failed.code, uri: failed.uri };
    else if (!input.stillAwaiting.some((a) => a.kind === 'Replace' && credentialNodes.has(a.uri))) confirmed = { ok: true, by: 'status' };
  }

  const rotating = input.stillAwaiting.some((a) => credentialNodes.has(a.uri)) || answeredCredentials.length > 0;
  let reason: ProvisioningReason | undefined;
  if (input.startsSession && enrollment.state === 'awaiting-claim' && confirmed === undefined) reason = 'claim';
  else if (!rotating && batch.subscriberNode !== null && enrollment.state === 'enrolled' && enrollment.subscriberIdentity !== null) {
    const now = input.reported[batch.subscriberNode];
    if (now !== undefined && now !== enrollment.subscriberIdentity) reason = 'subscriber-changed';
  }
  let rotation: Extract<ContactStep, { kind: 'proceed' }>['rotation'];
  if (reason) {
    const secret = newSecret();
    const serverSecret = newSecret();
    rotation = { reason, secret, serverSecret, sealed: seal(ctx.vault, secret), serverSealed: seal(ctx.vault, serverSecret) };
  }
  const reads: ProvisioningCommand[] = input.startsSession && batch.subscriberNode !== null ? [{ kind: 'Get', uri: batch.subscriberNode }] : [];
  const firstSight = input.startsSession && enrollment.state === 'issued';
  const unconfirmed = input.startsSession && pending && confirmed === undefined;
  if (!rotation && !confirmed && !unconfirmed && reads.length === 0 && !firstSight && !subscriberToRecord(batch, enrollment, input)) return undefined;
  return { kind: 'proceed', enrollment, batch, input, ...(rotation ? { rotation } : {}), reads, ...(confirmed ? { confirmed } : {}), unconfirmed, firstSight, now: ctx.clock.now() };
}

/** The commands this step sends at the server's turn: reads, new credentials, then the provisioning hook's. */
export async function contactCommands(tx: Tx, step: Extract<ContactStep, { kind: 'proceed' }>): Promise<ProvisioningCommand[]> {
  const { batch, enrollment, rotation } = step;
  const commands = [...step.reads];
  if (rotation) {
    const paths = appAuthPaths(batch.serverId);
    commands.push(
      { kind: 'Replace', uri: paths.clientName, data: enrollment.deviceId, format: 'chr' },
      { kind: 'Replace', uri: paths.clientSecret, data: rotation.secret, format: 'chr', secret: true },
      { kind: 'Replace', uri: paths.serverSecret, data: rotation.serverSecret, format: 'chr', secret: true },
    );
  }
  const reason: ProvisioningReason | undefined = rotation?.reason ?? (step.firstSight ? 'bootstrap' : undefined);
  if (reason) commands.push(...(await provisioningAtFirstContact(tx, { deviceId: enrollment.deviceId, model: batch.model, batchId: batch.id, reason, now: step.now })));
  return commands;
}

/** Stores what this message settled: credentials sent (pending), committed or dropped, the subscriber seen. */
export async function settleContact(tx: Tx, step: Extract<ContactStep, { kind: 'proceed' }>, sent: boolean, now: number): Promise<void> {
  const { enrollment, batch, input } = step;
  const subject = enrollment.deviceId;
  const subscriber = batch.subscriberNode === null ? undefined : input.reported[batch.subscriberNode];
  const changes: Parameters<typeof updateEnrollment>[2] = {};
  if (step.confirmed?.ok === true && enrollment.pendingSecretSealed && enrollment.pendingSecretNonce) {
    await updateDevice(tx, subject, {
      authName: subject,
      authSecretSealed: enrollment.pendingSecretSealed,
      authSecretNonce: enrollment.pendingSecretNonce,
      serverSecretSealed: enrollment.pendingServerSecretSealed,
      serverSecretNonce: enrollment.pendingServerSecretNonce,
    });
    const claimed = enrollment.state === 'awaiting-claim';
    Object.assign(changes, { state: 'enrolled', enrolledAt: enrollment.enrolledAt ?? now, rotations: enrollment.rotations + 1, ...clearedPending() });
    // The subscriber the rotation was for (a change of subscriber), else the one this message reports.
    const identity = enrollment.pendingSubscriberIdentity ?? subscriber;
    if (identity !== undefined) changes.subscriberIdentity = identity;
    // 'authentication': the Status was lost, but the device opened a session with the new credentials.
    await recordAudit(tx, { actor: 'dm', action: claimed ? 'enroll.claimed' : 'enroll.reprovisioned', subject, details: { batchId: batch.id, claim: claimed ? batch.claimName : null, rotations: enrollment.rotations + 1, confirmedBy: step.confirmed.by } }, now);
  } else if (step.confirmed?.ok === false) {
    Object.assign(changes, clearedPending());
    await recordAudit(tx, { actor: 'dm', action: 'enroll.rotation-failed', subject, details: { batchId: batch.id, uri: step.confirmed.uri, status: step.confirmed.code ?? null, still: enrollment.state === 'awaiting-claim' ? 'on the claim' : 'on its previous credentials' } }, now);
  }
  if (step.unconfirmed) {
    // The device came back on its current credentials: it did not keep the rotation (or
    // never got it). Those stay; the pending ones stop opening sessions; a claim or a
    // changed subscriber sends a new rotation (below, or at the subscriber's read).
    Object.assign(changes, clearedPending());
    await recordAudit(tx, { actor: 'dm', action: 'enroll.rotation-unconfirmed', subject, details: { batchId: batch.id, still: enrollment.state === 'awaiting-claim' ? 'on the claim' : 'on its previous credentials' } }, now);
  }
  if (step.rotation && sent) {
    const forSubscriber = step.rotation.reason === 'subscriber-changed' && subscriber !== undefined ? subscriber : null;
    Object.assign(changes, { pendingSecretSealed: step.rotation.sealed.sealed, pendingSecretNonce: step.rotation.sealed.nonce, pendingServerSecretSealed: step.rotation.serverSealed.sealed, pendingServerSecretNonce: step.rotation.serverSealed.nonce, pendingSubscriberIdentity: forSubscriber });
    if (step.rotation.reason === 'subscriber-changed') await recordAudit(tx, { actor: 'dm', action: 'enroll.subscriber-changed', subject, details: { batchId: batch.id, node: batch.subscriberNode } }, now);
  }
  if (step.firstSight) {
    Object.assign(changes, { state: 'enrolled', enrolledAt: now });
    await recordAudit(tx, { actor: 'dm', action: 'enroll.first-contact', subject, details: { batchId: batch.id } }, now);
  }
  if (subscriberToRecord(batch, enrollment, input) && subscriber !== undefined) changes.subscriberIdentity = subscriber;
  if (Object.keys(changes).length > 0) await updateEnrollment(tx, subject, changes);
}

/** An enrolled device's subscriber, read for the first time, is recorded (nothing to compare it with yet). */
function subscriberToRecord(batch: EnrollmentBatchRow, enrollment: EnrollmentRow, input: ContactInput): boolean {
  return batch.subscriberNode !== null && enrollment.state !== 'awaiting-claim' && enrollment.subscriberIdentity === null && input.reported[batch.subscriberNode] !== undefined;
}

/** The columns of an unconfirmed rotation, emptied. */
export function clearedPending() {
  return { pendingSecretSealed: null, pendingSecretNonce: null, pendingServerSecretSealed: null, pendingServerSecretNonce: null, pendingSubscriberIdentity: null };
}

/** Records a claim refused at first contact (the session is refused with 403; nothing else changes). */
export async function recordRefusedContact(ctx: Context, deviceId: string, step: Extract<ContactStep, { kind: 'refuse' }>): Promise<void> {
  const now = ctx.clock.now();
  await ctx.db.transaction((tx) => recordAudit(tx, { actor: 'dm', action: 'enroll.refused', subject: deviceId, details: { batchId: step.batchId, reason: step.reason } }, now));
}
