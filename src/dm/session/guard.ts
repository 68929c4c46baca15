// What the DM endpoint keeps in memory to make unauthenticated traffic cheap: failed
// authentications per client address (an address that fails too often is locked for a
// while), messages from unknown devices (counted and summed up in one audit event per
// sweep instead of a row each), and counters for /metrics. Bounded: at most
// MAX_ADDRESSES addresses are tracked, and only a few unknown DevIds are kept as a sample.
//
// Per process: with several server processes each counts the failures it sees. Device
// lockouts live in the database (devices.auth_locked_until) and hold everywhere.

import { BoundedMap } from '../../bounded-map.ts';

const MAX_ADDRESSES = 10_000;
const UNKNOWN_SAMPLE = 5;
const UNKNOWN_DISTINCT_CAP = 1_000;
/** Attacker-chosen DevIds are cut to this many characters in the audit sample. */
const SAMPLE_CHARS = 64;

export type RefusalReason = 'bad-header' | 'unknown-device' | 'locked';

interface AddressState {
  failures: number;
  since: number;
  lockedUntil: number;
}

export interface UnknownDevicesSummary {
  messages: number;
  /** Distinct DevIds, counted up to UNKNOWN_DISTINCT_CAP. */
  devices: number;
  sample: string[];
  since: number;
}

export interface GuardSettings {
  /** Failures from one address within `lockoutMs` that lock it; 0: never. */
  addressMaxFailures: number;
  lockoutMs: number;
}

export class DmGuard {
  readonly counters = { authFailures: 0, lockouts: { device: 0, address: 0 }, refused: { 'bad-header': 0, 'unknown-device': 0, locked: 0 } as Record<RefusalReason, number> };
  private readonly addresses = new BoundedMap<string, AddressState>(MAX_ADDRESSES);
  private unknown: { messages: number; ids: Set<string>; sample: string[]; since: number } | undefined;

  constructor(private readonly settings: GuardSettings) {}

  refused(reason: RefusalReason): void {
    this.counters.refused[reason] += 1;
  }

  /** Until when credentials from this address are not checked; undefined when they are. */
  addressLockedUntil(address: string, now: number): number | undefined {
    const state = this.addresses.get(address);
    return state && state.lockedUntil > now ? state.lockedUntil : undefined;
  }

  /** Counts a failed authentication; returns the lock's end when this failure locks its address. */
  authFailed(address: string, now: number): number | undefined {
    this.counters.authFailures += 1;
    if (this.settings.addressMaxFailures === 0) return undefined;
    let state = this.addresses.get(address);
    if (!state || now - state.since > this.settings.lockoutMs) {
      state = { failures: 0, since: now, lockedUntil: 0 };
      this.remember(address, state, now);
    }
    state.failures += 1;
    if (state.failures < this.settings.addressMaxFailures) return undefined;
    state.lockedUntil = now + this.settings.lockoutMs;
    state.failures = 0;
    state.since = state.lockedUntil;
    this.counters.lockouts.address += 1;
    return state.lockedUntil;
  }

  deviceLocked(): void {
    this.counters.lockouts.device += 1;
  }

  lockedAddresses(now: number): number {
    let n = 0;
    for (const state of this.addresses.values()) if (state.lockedUntil > now) n += 1;
    return n;
  }

  unknownDevice(devId: string, now: number): void {
    this.refused('unknown-device');
    this.unknown ??= { messages: 0, ids: new Set(), sample: [], since: now };
    this.unknown.messages += 1;
    const id = devId.slice(0, SAMPLE_CHARS);
    if (this.unknown.ids.size < UNKNOWN_DISTINCT_CAP) this.unknown.ids.add(id);
    if (this.unknown.sample.length < UNKNOWN_SAMPLE && !this.unknown.sample.includes(id)) this.unknown.sample.push(id);
  }

  /** The unknown-device messages since the last call, or undefined when there were none. */
  takeUnknownDevices(): UnknownDevicesSummary | undefined {
    const taken = this.unknown;
    this.unknown = undefined;
    return taken && { messages: taken.messages, devices: taken.ids.size, sample: taken.sample, since: taken.since };
  }

  private remember(address: string, state: AddressState, now: number): void {
    if (!this.addresses.has(address) && this.addresses.size >= MAX_ADDRESSES) {
      // Forget addresses whose window and lock are over; if none are, the set below drops
      // the oldest entry, so a flood from many addresses costs bounded memory.
      for (const [key, old] of this.addresses) if (old.lockedUntil <= now && now - old.since > this.settings.lockoutMs) this.addresses.delete(key);
    }
    this.addresses.delete(address);
    this.addresses.set(address, state);
  }
}
