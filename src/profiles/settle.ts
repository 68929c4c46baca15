// Settling an application once the device answered all its commands (called by the DM
// session after it stored the Statuses of a message, in the same transaction): the device
// succeeds when every Status of the profile's own operations is 2xx, and fails with the
// first failing one; Gets are recorded (old values, values read back) but not judged.
// The values read back become the device's current configuration, a drift check compares
// them with the profile, the device's history gets "provisioning confirmed" / "profile
// applied" with every Status, and a configuration campaign's deployment moves on.
import { transition } from '../deployments/deployments.ts';
import { recordAudit } from '../store/queries/audit.ts';
import { findDeployment } from '../store/queries/deployments.ts';
import { type ApplicationRow, findVersionById, forgetConfiguration, operationsById, queuedApplicationsOf, storeConfiguration, updateApplication } from '../store/queries/profiles.ts';
import type { Tx } from '../store/store.ts';
import { type Footing, holds } from '../store/queries/footing.ts';
import { roleOfOperation } from './queue.ts';
import { profileOperationsSchema } from './schemas.ts';

export interface CommandOutcome {
  command: string;
  uri: string;
  status: number | null;
  /** The value a Get read (readFirst: the old value; readBack: the value now). */
  value?: string;
  role: 'operation' | 'readFirst' | 'readBack';
}

const isOk = (status: number | null) => status !== null && status >= 200 && status < 300;

/** The application's verdict (pure): the first failing Status of the profile's own operations. */
export function verdictOf(outcomes: CommandOutcome[]): { state: 'succeeded' | 'failed'; failureCode: number | null } {
  const failing = outcomes.find((o) => o.role === 'operation' && !isOk(o.status));
  if (!failing) return { state: 'succeeded', failureCode: null };
  // An operation that failed with no code (the device sent none) counts as 500, "command failed".
  return { state: 'failed', failureCode: failing.status ?? 500 };
}

/**
 * Settles the device's applications whose commands are all answered; returns the campaigns
 * whose deployments moved. `footing`: the message's (store/queries/footing.ts), when it
 * read one: a device it shows with no application waiting is not read again.
 */
export async function settleApplications(tx: Tx, deviceId: string, answeredOpIds: string[], now: number, footing?: Footing): Promise<Set<string>> {
  const moved = new Set<string>();
  if (answeredOpIds.length === 0) return moved;
  if (holds(tx, footing, 'profileApplications') && !footing.hasQueuedApplications) return moved;
  const answered = new Set(answeredOpIds);
  for (const application of await queuedApplicationsOf(tx, deviceId)) {
    const ids = JSON.parse(application.operationIds) as string[];
    if (!ids.some((id) => answered.has(id))) continue;
    const campaignId = await settleIfAnswered(tx, application, now);
    if (campaignId) moved.add(campaignId);
  }
  return moved;
}

/**
 * Settles the application when none of its commands is still queued or sent; returns the
 * campaign whose deployment moved. `failureReason` says in words why it failed, when the
 * Statuses alone do not (profiles/unanswered.ts: the device never answered).
 */
export async function settleIfAnswered(tx: Tx, application: ApplicationRow, now: number, failureReason?: string): Promise<string | undefined> {
  const ids = JSON.parse(application.operationIds) as string[];
  const rows = new Map((await operationsById(tx, ids)).map((r) => [r.id, r]));
  if (ids.some((id) => !['done', 'failed'].includes(rows.get(id)?.state ?? 'queued'))) return undefined;
  const outcomes = ids.flatMap((id): CommandOutcome[] => {
    const row = rows.get(id);
    if (!row) return [];
    const value = row.result ? (JSON.parse(row.result) as Array<{ data: string }>)[0]?.data : undefined;
    return [{ command: row.command, uri: row.uri, status: row.statusCode, role: roleOfOperation(id), ...(value === undefined ? {} : { value }) }];
  });
  return settle(tx, application, outcomes, now, failureReason);
}

async function settle(tx: Tx, application: ApplicationRow, outcomes: CommandOutcome[], now: number, failureReason?: string): Promise<string | undefined> {
  const version = await findVersionById(tx, application.profileVersionId);
  const operations = version ? profileOperationsSchema.parse(JSON.parse(version.operations)) : [];
  const readBack = outcomes.filter((o) => o.role === 'readBack' && isOk(o.status) && o.value !== undefined).map((o) => ({ uri: o.uri, value: o.value ?? '' }));
  await storeConfiguration(tx, application.deviceId, readBack, application.profileVersionId, now);
  const deleted = outcomes.filter((o) => o.role === 'operation' && o.command === 'Delete' && isOk(o.status)).map((o) => o.uri);
  await forgetConfiguration(tx, application.deviceId, deleted);

  const label = version ? `${version.name}@${version.version}` : application.profileVersionId;
  const statuses = outcomes.map(({ command, uri, status, value, role }) => ({ command, uri, status, role, ...(value === undefined ? {} : { value }) }));
  if (application.reason === 'drift') {
    const actual = new Map(readBack.map((v) => [v.uri, v.value]));
    const drift = operations
      .filter((op) => (op.command === 'Add' || op.command === 'Replace') && actual.get(op.uri) !== op.data)
      .map((op) => ({ uri: op.uri, expected: op.data ?? '', actual: actual.get(op.uri) ?? null }));
    await updateApplication(tx, application.id, { state: 'succeeded', statuses: JSON.stringify(statuses), drift: JSON.stringify(drift), doneAt: now });
    await recordAudit(tx, { actor: 'dm', action: drift.length ? 'device.configuration-drift' : 'device.configuration-matches', subject: application.deviceId, details: { profile: label, drift } }, now);
    return undefined;
  }
  const verdict = verdictOf(outcomes);
  const reason = verdict.state === 'failed' ? (failureReason ?? null) : null;
  await updateApplication(tx, application.id, { state: verdict.state, statuses: JSON.stringify(statuses), failureCode: verdict.failureCode, failureReason: reason, doneAt: now });
  const provisioning = application.reason === 'provisioning';
  const action = verdict.state === 'succeeded' ? (provisioning ? 'device.provisioning-confirmed' : 'device.profile-applied') : provisioning ? 'device.provisioning-failed' : 'device.profile-failed';
  const shown = statuses.map((s) => ({ command: s.command, uri: s.uri, status: s.status }));
  await recordAudit(tx, { actor: 'dm', action, subject: application.deviceId, details: { profile: label, applicationId: application.id, failureCode: verdict.failureCode, ...(reason ? { failureReason: reason } : {}), statuses: shown } }, now);
  if (!application.deploymentId) return undefined;
  const deployment = await findDeployment(tx, application.deploymentId, { forUpdate: true });
  // A deployment the timeout (or an abort) already ended keeps its state; the application's outcome stands on its own.
  if (!deployment || deployment.state !== 'commanded') return undefined;
  if (verdict.state === 'succeeded') await transition(tx, deployment, 'succeeded', `profile ${label} applied: every Status 2xx`, now);
  else await transition(tx, deployment, 'failed', `profile ${label} failed: Status ${verdict.failureCode}${reason ? ` (${reason})` : ''}`, now, { resultCode: verdict.failureCode });
  return deployment.campaignId ?? undefined;
}
