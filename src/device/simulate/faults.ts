// The fleet simulator's faults: the `--faults` spec (`cut=0.1,corrupt=2%,slow=0.05:64k`),
// which devices get which fault, and what each fault does to an agent. A fault is given
// as a share of the fleet; devices are dealt to faults in an order fixed by a hash of
// their ids, so the same fleet gets the same faults on every run and the counts are exact
// (round(share x devices)), with at most one fault per device.
import { createHash } from 'node:crypto';
import { AppError } from '../../errors.ts';
import type { AgentOptions } from '../agent.ts';

export const FAULT_KINDS = ['cut', 'corrupt', 'wrong-base', 'install', 'oom', 'oom-download', 'slow', 'app-download', 'app-install', 'app-remove', 'refuse-writes', 'drop-after-writes', 'lose-rotation-status'] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

export interface Fault {
  kind: FaultKind;
  /** Share of the fleet, 0 < share <= 1. */
  share: number;
  /** For `slow`: the link's speed. */
  bytesPerSecond?: number;
}

/**
 * The FUMO result code each fault makes a device report; undefined: the device must still
 * update (the fault tests the agent's resilience, not its refusals).
 */
export const FAULT_RESULT: Readonly<Record<FaultKind, number | undefined>> = {
  cut: undefined,
  slow: undefined,
  corrupt: 402,
  'wrong-base': 403,
  install: 410,
  oom: 502,
  'oom-download': 501,
  // SCOMO faults: application operations report these; firmware still updates.
  'app-download': undefined,
  'app-install': undefined,
  'app-remove': undefined,
  // Firmware still updates; configuration profiles fail with Status 425 (tree.ts).
  'refuse-writes': undefined,
  // Lost sessions: profiles are sent again (and fail with 408 after 3 sends); a rotation commits when the device opens a session with it.
  'drop-after-writes': undefined,
  'lose-rotation-status': undefined,
};

/** The SCOMO result code each application fault makes a device report. */
export const APP_FAULT_RESULT: Readonly<Partial<Record<FaultKind, number>>> = { 'app-download': 1402, 'app-install': 1405, 'app-remove': 1408 };

export const DEFAULT_SLOW_BYTES_PER_SECOND = 64 * 1024;
/** One socket read (up to 64 KiB) must arrive well within the agent's 30 s idle timeout. */
export const MIN_SLOW_BYTES_PER_SECOND = 4096;

export const faultsHelp = `SPEC is a comma-separated list of FAULT=SHARE (a fraction like 0.05 or a percentage
like 5%) of the devices; each device gets at most one fault:
  cut           the download is cut once mid-payload; the device resumes and updates
  slow[:BPS]    downloads at BPS bytes per second (default 64k; k and m suffixes)
  corrupt       a payload byte arrives flipped on every fetch: FUMO 402
  wrong-base    the device's image differs from the one its version names: FUMO 403
  install       the install fails after every check passed: FUMO 410
  oom           out of memory while updating: FUMO 502
  oom-download  out of memory for the download: FUMO 501
  app-download  application downloads fail: SCOMO 1402
  app-install   application installs fail: SCOMO 1405
  app-remove    application removals fail: SCOMO 1408
  refuse-writes every configuration node refuses writes: profiles fail with Status 425
  drop-after-writes  the device drops every session right after carrying out the server's
                writes of settings: its Statuses never arrive (profiles fail with 408 after 3 sends)
  lose-rotation-status  (with --bootstrap) the device keeps the credentials its claim is
                replaced with, but its session drops before their Status is sent, once`;

const invalid = (spec: string, why: string) => new AppError('VALIDATION', `fault spec ${JSON.stringify(spec)}: ${why}`);

export function parseFaults(spec: string): Fault[] {
  const entries = spec.split(',').map((e) => e.trim());
  if (entries.every((e) => e === '')) throw invalid(spec, 'is empty; give FAULT=SHARE, e.g. cut=0.1');
  const faults: Fault[] = [];
  for (const entry of entries) {
    const match = /^([a-z-]+)=([^:]+)(?::(.+))?$/.exec(entry);
    if (!match) throw invalid(spec, `${JSON.stringify(entry)} is not FAULT=SHARE`);
    const [, name = '', shareText = '', param] = match;
    const kind = FAULT_KINDS.find((k) => k === name);
    if (!kind) throw invalid(spec, `unknown fault ${JSON.stringify(name)} (known: ${FAULT_KINDS.join(', ')})`);
    if (faults.some((f) => f.kind === kind)) throw invalid(spec, `${kind} is given twice`);
    const share = parseShare(shareText);
    if (share === undefined) throw invalid(spec, `${kind}: share ${JSON.stringify(shareText)} must be a number in (0, 1] or a percentage in (0%, 100%]`);
    if (kind === 'slow') {
      const rate = param === undefined ? DEFAULT_SLOW_BYTES_PER_SECOND : parseRate(param);
      if (rate === undefined || rate < MIN_SLOW_BYTES_PER_SECOND) throw invalid(spec, `slow: ${JSON.stringify(param)} must be bytes per second >= ${MIN_SLOW_BYTES_PER_SECOND} (k and m suffixes allowed)`);
      faults.push({ kind, share, bytesPerSecond: rate });
    } else {
      if (param !== undefined) throw invalid(spec, `${kind} takes no parameter (got ":${param}")`);
      faults.push({ kind, share });
    }
  }
  const total = faults.reduce((sum, f) => sum + f.share, 0);
  if (total > 1 + 1e-9) throw invalid(spec, `the shares add up to ${+total.toFixed(4)}; a device gets at most one fault, so they must add up to 1 or less`);
  return faults;
}

/** A share as the fleet options write it: 0.2 or 20%, in (0, 1]. */
export function parseShare(text: string): number | undefined {
  const percent = text.endsWith('%');
  const body = percent ? text.slice(0, -1) : text;
  if (!/^\d+(\.\d+)?$|^\.\d+$/.test(body)) return undefined;
  const share = Number(body) / (percent ? 100 : 1);
  return share > 0 && share <= 1 ? share : undefined;
}

function parseRate(text: string): number | undefined {
  const match = /^(\d+(?:\.\d+)?)([kKmM]?)$/.exec(text);
  if (!match) return undefined;
  const unit = match[2]?.toLowerCase() === 'k' ? 1024 : match[2]?.toLowerCase() === 'm' ? 1024 * 1024 : 1;
  return Math.floor(Number(match[1]) * unit);
}

/** Which device gets which fault: exact counts, a fixed pseudo-random order. */
export function assignFaults(ids: readonly string[], faults: readonly Fault[]): Map<string, Fault> {
  const order = [...ids].sort((a, b) => {
    const ha = rank(a);
    const hb = rank(b);
    return ha < hb ? -1 : ha > hb ? 1 : a < b ? -1 : 1;
  });
  const assigned = new Map<string, Fault>();
  let next = 0;
  for (const fault of faults) {
    const count = Math.min(Math.round(fault.share * ids.length), order.length - next);
    for (const id of order.slice(next, next + count)) assigned.set(id, fault);
    next += count;
  }
  return assigned;
}

function rank(id: string): string {
  return createHash('sha256').update(`fota-simulate-fault:${id}`).digest('hex');
}

/** A fraction in [lo, hi) fixed by the device id, so a fault lands in the same place each run. */
function spot(id: string, lo: number, hi: number): number {
  const n = createHash('sha256').update(`fota-simulate-spot:${id}`).digest().readUInt32BE(0);
  return lo + ((hi - lo) * n) / 2 ** 32;
}

/**
 * What a fault changes in an agent's options (`wrong-base` is a different image, which
 * the fleet gives; it needs nothing here).
 */
export function faultOptions(id: string, fault: Fault | undefined): Pick<AgentOptions, 'failures' | 'scomoFailures' | 'refuseWrites'> & { download?: NonNullable<AgentOptions['download']> } {
  switch (fault?.kind) {
    case 'app-download':
      return { scomoFailures: { download: 1402 } };
    case 'app-install':
      return { scomoFailures: { install: 1405 } };
    case 'app-remove':
      return { scomoFailures: { remove: 1408 } };
    case 'cut':
      return { download: { faults: { cutAtFraction: [spot(id, 0.2, 0.8)] } } };
    case 'corrupt':
      // Flipped on every delivery: the chunk fails its hash each time it is fetched again.
      return { download: { faults: { corruptAtFraction: [{ fraction: spot(id, 0, 1), times: Number.POSITIVE_INFINITY }] } } };
    case 'slow':
      return fault.bytesPerSecond === undefined ? {} : { download: { bytesPerSecond: fault.bytesPerSecond } };
    case 'install':
      return { failures: { install: 410 } };
    case 'oom':
      return { failures: { install: 502 } };
    case 'oom-download':
      return { failures: { download: 501 } };
    case 'refuse-writes':
      return { refuseWrites: ['.'] };
    case 'drop-after-writes':
      return { failures: { dropAfterWrites: Number.POSITIVE_INFINITY } };
    case 'lose-rotation-status':
      return { failures: { loseRotationStatus: true } };
    case 'wrong-base':
    case undefined:
      return {};
  }
}
