// Phase 4 of a DM message: what the server sends next, once the device's own commands are
// read. In order: what did not fit the last message, DevDetail values gone stale, the
// operator's queued operations, a read of FwV after the device reports an installed
// update, and the device's FUMO step (after a read of FwV, when the device has not reported
// it in this session: its package is chosen against it). Reads the queue and the
// deployment, in the message's transaction (handle.ts); writes nothing, but for the
// deployment a device's update request may create, the Gets of a live query's children,
// and the queued operations it takes as sent (takeQueue; the persist puts back those the
// reply did not carry).
import type { Context } from '../../context.ts';
import { type InventoryTree, parseInventory, serverPassword } from '../../devices/devices.ts';
import { queueQueryChildren } from '../../devices/helpdesk/expand.ts';
import { answerUpdateRequest, describeRequestOutcome, type RequestOutcome, updateRequestOf } from '../../deployments/requested.ts';
import { ActiveDeployment } from '../../deployments/active.ts';
import { downloadKeyOf, type FumoPlan, planFumo, READ_FIRMWARE, type ReportedFirmware, reportsInstalled } from '../../deployments/fumo.ts';
import { AUTH_MD5, decodeNonce, md5Digest } from '../../omadm/auth.ts';
import type { Cred } from '../../omadm/codec/message.ts';
import { claimQueuedOperations, type DeviceRow, type DmOperationRow, type DmSessionRow, queuedOperations } from '../../store/queries/devices.ts';
import { queueProfileWork } from '../../profiles/session-work.ts';
import type { Tx } from '../../store/store.ts';
import { type Footing, footingOf, holds } from '../../store/queries/footing.ts';
import { planScomo, type ScomoPlanInput } from '../../scomo/session.ts';
import { commandAppDeployment } from '../../scomo/campaign-work.ts';
import type { ClientEffects } from './client-commands.ts';
import { INVENTORY_NODES, pendingOf, type ServerCommand } from './state.ts';
import { type GateSession, gatedFumo, gatedOperations, gatedScomo, promptsInFlight } from './user-gate.ts';

export interface PlanInput {
  device: DeviceRow;
  session: DmSessionRow;
  /** The session's commands not sent yet (JSON, their secrets opened: secrets-at-rest.ts), which plan goes first. */
  pending: string;
  effects: ClientEffects;
  /** The device's package is complete (Final): the server's turn. */
  final: boolean;
  serverUrl: string;
  now: number;
  /** The device's footing as read with the device (identify.ts), bound to this transaction (footingAt); else the plan reads it. */
  footing?: Footing;
}

export interface Plan {
  commands: ServerCommand[];
  /** Ask the device for the rest of its package (it sent a message without Final). */
  askForMore: boolean;
  inventoryChecked: boolean;
  /** The server's own Cred, while the device has not accepted it. */
  cred?: Cred;
  serverAuthenticated: boolean;
  /** The nonce the device issued to the server (base64), if any. */
  serverNonce: string | null;
  /** Campaigns whose deployments the plan moved (a profile application given up on: profiles/unanswered.ts). */
  campaignsMoved?: string[];
  /** The device's deployment under way as this message read it, for the message's persist (deployments/active.ts). */
  active?: ActiveDeployment;
  /** Which of the device's optional parts exist, as this message read them (store/queries/footing.ts). */
  footing?: Footing;
  /** Operations the plan took from the queue as sent (claimQueuedOperations): those the reply does not carry go back. */
  claimed?: string[];
}

/** What the plan takes from the context, before the transaction it runs in (no Context goes into one). */
export interface PlanSettings {
  inventoryMaxAgeMs: number;
  downloadKey: Uint8Array;
  /** How long a SCOMO operation the device accepted may go unreported (the deployment timeout). */
  scomoTimeoutMs: number;
  /** The server's own credentials in the reply's header, and whether the device accepted them. */
  header: Pick<Plan, 'cred' | 'serverAuthenticated' | 'serverNonce'>;
}

export function planSettings(ctx: Context, input: Pick<PlanInput, 'device' | 'session' | 'effects'>): PlanSettings {
  const { device, session, effects } = input;
  const serverAuthenticated = session.serverAuthenticated || effects.serverAuthStatus === 212;
  const serverNonce = effects.serverNonce ?? device.serverNonce;
  const header: PlanSettings['header'] = { serverAuthenticated, serverNonce };
  const cred = serverCred(ctx, device, serverAuthenticated, serverNonce);
  if (cred) header.cred = cred;
  return {
    inventoryMaxAgeMs: ctx.config.dm.inventoryMaxAgeMs,
    downloadKey: downloadKeyOf(ctx),
    scomoTimeoutMs: ctx.config.campaigns.defaultTimeoutMs,
    header,
  };
}

export async function planCommands(tx: Tx, settings: PlanSettings, input: PlanInput): Promise<Plan> {
  const { device, session, effects, now } = input;
  const { header } = settings;
  // A device's own update request may become a deployment that planFumo commands below
  // (deployments/requested.ts); with no such alert, nothing is read.
  const request = effects.aborted ? undefined : effects.genericAlerts.find((a) => updateRequestOf(a.type) !== undefined);
  if (request) answerInStatus(effects, request.cmdRef, await answerUpdateRequest(tx, device, updateRequestOf(request.type) ?? 'device', effects.inventory['./DevDetail/FwV'] ?? device.firmwareVersion, now));
  // A live query reads the children of an interior node the device just listed (devices/helpdesk/expand.ts).
  await queueQueryChildren(tx, device.id, effects.operations, now);
  if (!input.final || effects.aborted) return { commands: [], askForMore: !input.final && !effects.aborted, inventoryChecked: session.inventoryChecked, ...header };
  // What of the device exists at all, and its deployment under way: read once for the
  // hooks below and the persist after them (store/queries/footing.ts, deployments/active.ts).
  // Read with the device when the message named it (findDeviceAndSession: one statement
  // less), else here.
  const footing = input.footing ?? (await footingOf(tx, device.id));
  const active = new ActiveDeployment(tx, device.id, footing);

  const commands: ServerCommand[] = pendingOf(input.pending);
  if (!session.inventoryChecked) commands.push(...staleInventory(device, effects.inventory, now, settings.inventoryMaxAgeMs));
  // Profiles (provisioning, configuration campaigns) queue their operations at the session's first turn (profiles/session-work.ts).
  const profileMoves = session.inventoryChecked ? [] : await queueProfileWork(tx, device, now, active, footing);
  // An application campaign's scheduled deployment becomes a SCOMO operation that planScomo sends below (scomo/campaign-work.ts).
  if (!session.inventoryChecked) await commandAppDeployment(tx, device, now, active);
  // Operations of a work item that asks its user first wait for the answer (user-gate.ts).
  // Each gate sees the prompts in flight as the commands stand when it is asked.
  const gateSession = (): GateSession => ({ deviceId: device.id, inFlight: promptsInFlight([effects.awaiting, commands]), sessionStart: session.createdAt, now });
  const { rows: queuedRows, claimed } = await takeQueue(tx, footing, device.id, now);
  const queued = await gatedOperations(tx, queuedRows, gateSession());
  commands.push(...queued.prompts);
  for (const op of queued.operations) commands.push(operationCommand(op));
  // Application inventory, baseline reconciliation and SCOMO operations (src/scomo/session.ts).
  // Inputs filled in place, not spread (persist.ts): the spreads of this line took a third of the plan's own time.
  const scomoInput: ScomoPlanInput = { device, effects, outstanding: [...effects.awaiting, ...commands], serverUrl: input.serverUrl, now };
  if (holds(tx, footing, 'scomo')) scomoInput.footing = footing.scomo;
  commands.push(...(await gatedScomo(tx, await planScomo(tx, settings, scomoInput), gateSession())));
  // A firmware update the device reported as done is confirmed by reading its FwV now.
  if (effects.genericAlerts.some(reportsInstalled) && effects.inventory['./DevDetail/FwV'] === undefined && !commands.some((c) => c.uri === './DevDetail/FwV')) {
    commands.push({ kind: 'Get', uri: './DevDetail/FwV', purpose: 'inventory' });
  }
  // Not again for a deployment whose commands are out, or whose Exec this very message answers.
  const inFlight = new Set([...effects.awaiting, ...commands, ...effects.fumoExecStatuses].map((c) => c.deploymentId).filter((id): id is string => id !== undefined && id !== ''));
  const fumo = await planFumo(tx, settings.downloadKey, device.id, input.serverUrl, now, firmwareOf(device, session, effects), active);
  if (fumo === READ_FIRMWARE) {
    if (!commands.some((c) => c.uri === './DevDetail/FwV')) commands.push({ kind: 'Get', uri: './DevDetail/FwV', purpose: 'inventory' });
  } else if (fumo && !inFlight.has(fumo.deploymentId)) {
    // Behind the user's confirmation when the deployment requires one (user-gate.ts).
    commands.push(...(await gatedFumo(tx, fumo.deploymentId, fumoCommands(fumo), gateSession())));
  }
  // Optional fields set after the literal, not spread into it (persist.ts).
  const plan: Plan = { commands, askForMore: false, inventoryChecked: true, serverAuthenticated: header.serverAuthenticated, serverNonce: header.serverNonce, active };
  if (header.cred) plan.cred = header.cred;
  if (profileMoves.length > 0) plan.campaignsMoved = profileMoves;
  if (footing) plan.footing = footing;
  if (claimed) plan.claimed = claimed;
  return plan;
}

/** An operator's queued operation as the command that carries it out. */
function operationCommand(op: DmOperationRow): ServerCommand {
  // Optional fields set after the literal, not spread into it (persist.ts).
  const command: ServerCommand = { kind: op.command, uri: op.uri, purpose: 'operation' };
  if (op.data !== null) command.data = op.data;
  if (op.format) command.format = op.format;
  if (op.type) command.type = op.type;
  if (op.correlator) command.correlator = op.correlator;
  command.opId = op.id;
  return command;
}

/**
 * The device's queued operations. With none gated (the footing says so), taken as sent in
 * the statement that reads them (one statement instead of a read now and a write in the
 * persist); with some waiting for a user's answer, read, and marked sent by the persist as
 * the reply carries them (a gate may fail its operations while still queued: user-gate.ts).
 */
async function takeQueue(tx: Tx, footing: Footing | undefined, deviceId: string, now: number): Promise<{ rows: DmOperationRow[]; claimed?: string[] }> {
  if (!holds(tx, footing, 'operations')) return { rows: await queuedOperations(tx, deviceId) };
  if (!footing.hasQueuedOperations) return { rows: [] };
  if (footing.hasGatedOperations) return { rows: await queuedOperations(tx, deviceId) };
  const rows = await claimQueuedOperations(tx, deviceId, now);
  return { rows, claimed: rows.map((r) => r.id) };
}

/**
 * The request alert's Status (200) carries what the device may show its user: the release
 * commanded, or why nothing is (set, not appended: a retried transaction plans again).
 */
function answerInStatus(effects: ClientEffects, cmdRef: number | undefined, outcome: RequestOutcome): void {
  const status = effects.statuses.find((s) => s.cmd === 'Alert' && s.cmdRef === cmdRef);
  if (status) status.items = [{ meta: { format: 'chr', type: 'text/plain' }, data: describeRequestOutcome(outcome) }];
}

/**
 * The firmware a package is chosen against: what the device reported in this session (this
 * message or an earlier one). Not reported yet at the server's first turn: read it first.
 * Later (the device did not answer the read), what the server last knew.
 */
function firmwareOf(device: DeviceRow, session: DmSessionRow, effects: ClientEffects): ReportedFirmware {
  const now = effects.inventory['./DevDetail/FwV'];
  if (now !== undefined) return { version: now };
  const known = knownInventory(device)['./DevDetail/FwV'];
  if (known && known.at >= session.createdAt) return { version: known.value };
  return session.inventoryChecked ? { version: device.firmwareVersion } : 'unread';
}

/**
 * The device's stored inventory, parsed once per row for the plan's two readers (a session's
 * first turn asks both: a JSON.parse of some microseconds each). Read only: the persist
 * parses its own copy to change.
 */
const knownInventories = new WeakMap<DeviceRow, InventoryTree>();
function knownInventory(device: DeviceRow): InventoryTree {
  let known = knownInventories.get(device);
  if (known === undefined) knownInventories.set(device, (known = parseInventory(device)));
  return known;
}

/** Gets for DevDetail values the server has not seen recently (nor in this very message). */
function staleInventory(device: DeviceRow, reported: Record<string, string>, now: number, maxAgeMs: number): ServerCommand[] {
  const known = knownInventory(device);
  return INVENTORY_NODES.filter((uri) => reported[uri] === undefined && !(known[uri] && now - known[uri].at <= maxAgeMs)).map((uri) => ({ kind: 'Get' as const, uri, purpose: 'inventory' as const }));
}

/** FUMO in DM terms: set PkgURL (a chr leaf), then Exec the operation node with a Correlator. */
function fumoCommands(plan: FumoPlan): ServerCommand[] {
  const base = { deploymentId: plan.deploymentId, purpose: 'fumo' as const };
  const exec: ServerCommand = { kind: 'Exec', uri: plan.execUri, correlator: plan.correlator, ...base, ...(plan.packageId ? { packageId: plan.packageId } : {}) };
  return plan.pkgUrl ? [{ kind: 'Replace', uri: `${plan.execUri}/PkgURL`, data: plan.pkgUrl, format: 'chr', ...base }, exec] : [exec];
}

/** The server's own Cred, sent until the device accepts it, when its account expects one. */
function serverCred(ctx: Context, device: DeviceRow, accepted: boolean, serverNonce: string | null): Cred | undefined {
  const password = accepted ? undefined : serverPassword(ctx, device);
  if (!password) return undefined;
  const nonce = serverNonce ? decodeNonce(serverNonce) : new Uint8Array(0);
  return { meta: { type: AUTH_MD5, format: 'b64' }, data: md5Digest(ctx.config.dm.serverId, password, nonce) };
}
