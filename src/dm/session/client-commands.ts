// Reads what the device sent: DevInfo, Alerts, Statuses and Results for the server's
// earlier commands. Produces the Statuses the server owes and the changes to store; it
// touches no database itself, so a message that fails half way changes nothing.
import { AppError } from '../../errors.ts';
import { decodeNonce } from '../../omadm/auth.ts';
import type { Command, Item, StatusCommand, SyncHdr } from '../../omadm/codec/message.ts';
import type { AwaitedCommand } from './state.ts';

/** The longest node value the device's inventory keeps (the inventory is read by every DM message). */
const INVENTORY_VALUE_MAX = 1024;
/** Standard objects the inventory describes; DevDetail/Ext is vendor data (a log). */
const INVENTORY_ROOTS = /^\.\/(?:DevInfo|DevDetail)\/(?!Ext(?:\/|$))/;

export interface OperationUpdate {
  opId: string;
  state: 'sent' | 'done' | 'failed';
  statusCode?: number;
  result?: ResultValue[];
}

/** A node's value as a Results carried it. */
interface ResultValue {
  uri: string;
  data: string;
  format?: string;
  type?: string;
}

export interface GenericAlert {
  type: string;
  format?: string;
  mark?: string;
  source?: string;
  data: string;
  correlator?: string;
  /** The Alert command that carried it (its Status's CmdRef). */
  cmdRef?: number;
}

export interface ClientEffects {
  statuses: Array<Omit<StatusCommand, 'cmdId'>>;
  /** Node values the device reported (DevInfo Replace, Results of inventory Gets). */
  inventory: Record<string, string>;
  operations: OperationUpdate[];
  /** The device's Status on a FUMO Exec (202 accepted, or a refusal), by deployment. */
  fumoExecStatuses: Array<{ deploymentId: string; code: number }>;
  /** The device's Status on each SCOMO command (src/scomo/session.ts reads them). */
  scomoStatuses: Array<{ kind: string; uri: string; code?: number; scomoId?: string }>;
  awaiting: AwaitedCommand[];
  /** The server's commands this message gave a Status for, with its code (undefined: not a code). */
  answered: Array<{ entry: AwaitedCommand; code: number | undefined }>;
  genericAlerts: GenericAlert[];
  /** The client's Status for the server's header (212 = it accepts the server's Cred). */
  serverAuthStatus?: number;
  /** NextNonce the client issued to the server (base64), for the server's next Cred. */
  serverNonce?: string;
  aborted: boolean;
  /** Statuses for commands the server never sent (logged, otherwise ignored). */
  strayStatuses: number;
}

function usableNonce(text: string): boolean {
  try {
    decodeNonce(text);
    return true;
  } catch (err) {
    if (err instanceof AppError) return false;
    throw err;
  }
}

const text = (data: Item['data']) => (data === undefined ? '' : typeof data === 'string' ? data : new TextDecoder().decode(data));

function statusFor(header: SyncHdr, command: { cmdId: number; kind: string; items?: Item[] }, code: number): Omit<StatusCommand, 'cmdId'> {
  const items = command.items ?? [];
  // map and filter, not flatMap: V8's flatMap cost some 0.7 µs an item, twenty times these (bench/dm.ts).
  return {
    kind: 'Status',
    msgRef: header.msgId,
    cmdRef: command.cmdId,
    cmd: command.kind,
    targetRefs: items.map((i) => i.target).filter((uri): uri is string => uri !== undefined && uri !== ''),
    sourceRefs: items.map((i) => i.source).filter((uri): uri is string => uri !== undefined && uri !== ''),
    data: String(code),
    items: [],
  };
}

/** Statuses for every command of a message that is refused as a whole (e.g. failed auth). */
export function statusesForAll(header: SyncHdr, commands: Command[], code: number): Array<Omit<StatusCommand, 'cmdId'>> {
  return commands.filter((c) => c.kind !== 'Status' && c.kind !== 'Results').map((c) => statusFor(header, { cmdId: c.cmdId, kind: c.kind, items: 'items' in c ? c.items : [] }, code));
}

export function readClientCommands(header: SyncHdr, commands: Command[], awaitingBefore: AwaitedCommand[]): ClientEffects {
  // Copies by Object.assign, not { ...a }: on Node 20's V8 each spread copy gets a map of its
  // own, and the resultsSeen set on it below then made yet another (3 µs for a message
  // answering two Gets, in a micro-benchmark).
  const effects: ClientEffects = { statuses: [], inventory: {}, operations: [], fumoExecStatuses: [], scomoStatuses: [], awaiting: awaitingBefore.map((a) => Object.assign({}, a)), answered: [], genericAlerts: [], aborted: false, strayStatuses: 0 };
  const find = (msgRef: number | undefined, cmdRef: number) => effects.awaiting.find((a) => a.cmdId === cmdRef && (msgRef === undefined || a.msgId === msgRef));
  const settle = (entry: AwaitedCommand) => {
    effects.awaiting = effects.awaiting.filter((a) => a !== entry);
  };

  for (const command of commands) {
    switch (command.kind) {
      case 'Status': {
        if (command.cmdRef === 0) {
          effects.serverAuthStatus = statusCodeOf(command.data);
          // A nonce that does not decode is ignored: kept, it would fail every later server
          // Cred and Package 0 for this device (decodeNonce throws on it).
          if (command.chal?.meta.nextNonce && usableNonce(command.chal.meta.nextNonce)) effects.serverNonce = command.chal.meta.nextNonce;
          break;
        }
        const entry = find(command.msgRef, command.cmdRef);
        if (!entry) {
          effects.strayStatuses += 1;
          break;
        }
        const code = statusCodeOf(command.data);
        effects.answered.push({ entry, code });
        const ok = code !== undefined && code >= 200 && code < 300;
        // A successful Get stays open until its Results arrive (right after the Status).
        if (!(ok && entry.kind === 'Get' && !entry.resultsSeen)) settle(entry);
        // An Exec status that is no code says nothing of the update: the deployment waits for
        // the device's Generic Alert, or its timeout.
        if (entry.deploymentId && entry.kind === 'Exec' && code !== undefined) effects.fumoExecStatuses.push({ deploymentId: entry.deploymentId, code });
        if (entry.purpose === 'scomo') effects.scomoStatuses.push({ kind: entry.kind, uri: entry.uri, ...(code === undefined ? {} : { code }), ...(entry.scomoId ? { scomoId: entry.scomoId } : {}) });
        if (entry.opId) {
          // 213: a chunk of a large value was taken; the operation is done with its last one.
          const done = !ok || (entry.kind !== 'Get' && code !== 213) || entry.resultsSeen;
          // A status that is no code fails the operation, recorded without one.
          const update: OperationUpdate = { opId: entry.opId, state: ok ? (done ? 'done' : 'sent') : 'failed' };
          if (code !== undefined) update.statusCode = code;
          effects.operations.push(update);
        }
        break;
      }
      case 'Results': {
        const entry = find(command.msgRef, command.cmdRef);
        // Optional fields set after the literal, not spread into it (persist.ts).
        const values = command.items.map((i) => {
          const value: ResultValue = { uri: i.source ?? i.target ?? '', data: text(i.data) };
          if (i.meta?.format) value.format = i.meta.format;
          if (i.meta?.type) value.type = i.meta.type;
          return value;
        });
        // The inventory keeps DevInfo and DevDetail leaves of a line or so (and what the server's own
        // inventory reads and enrollment's subscriber read ask); a listing, a log or a helpdesk's other
        // reads stay with their operation. SCOMO's own reads, listings included, go to
        // src/scomo/session.ts, which checks them and keeps them out of the device's inventory (persist.ts).
        const scomoRead = entry?.purpose === 'scomo';
        for (const v of values) if (v.uri && (scomoRead || (v.format !== 'node' && v.data.length <= INVENTORY_VALUE_MAX && (entry?.purpose === 'inventory' || entry?.purpose === 'enroll' || INVENTORY_ROOTS.test(v.uri))))) effects.inventory[v.uri] = v.data;
        if (!entry) {
          effects.strayStatuses += 1;
          break;
        }
        entry.resultsSeen = true;
        if (entry.opId) {
          const previous = effects.operations.find((o) => o.opId === entry.opId);
          const update: OperationUpdate = { opId: entry.opId, state: 'done', statusCode: previous?.statusCode ?? 200, result: values };
          effects.operations = [...effects.operations.filter((o) => o.opId !== entry.opId), update];
        }
        settle(entry);
        break;
      }
      case 'Alert': {
        effects.statuses.push(statusFor(header, command, 200));
        if (command.data === '1223') effects.aborted = true;
        if (command.data === '1226') {
          for (const item of command.items) {
            effects.genericAlerts.push({
              type: (item.meta?.type ?? '').replace(/^Reversed-Domain-Name:\s*/i, ''),
              ...(item.meta?.format ? { format: item.meta.format } : {}),
              ...(item.meta?.mark ? { mark: item.meta.mark } : {}),
              ...(item.source ? { source: item.source } : {}),
              data: text(item.data),
              ...(command.correlator ? { correlator: command.correlator } : {}),
              cmdRef: command.cmdId,
            });
          }
        }
        break;
      }
      case 'Replace':
      case 'Add': {
        for (const item of command.items) {
          const uri = item.source ?? item.target;
          if (uri) effects.inventory[uri] = text(item.data);
        }
        effects.statuses.push(statusFor(header, command, 200));
        break;
      }
      default:
        // A DM client sends only Replace, Results, Alert and Status; anything else is not allowed.
        effects.statuses.push(statusFor(header, { cmdId: command.cmdId, kind: command.kind, items: 'items' in command ? command.items : [] }, 405));
    }
  }
  return effects;
}

/**
 * A Status's code (SyncML: three digits, e.g. 200, 212, 407), or undefined for anything
 * else a device sends there; never NaN, which no database column takes.
 */
export function statusCodeOf(data: string | undefined): number | undefined {
  const text = data?.trim() ?? '';
  return /^\d{3}$/.test(text) ? Number(text) : undefined;
}
