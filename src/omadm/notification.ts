// OMA DM Package 0: the binary notification that asks a device to open a session
// (PROTOCOL.md "Package 0"). Building, parsing and checking it are pure; getting it to the
// device is a Notifier's job (notifier.ts). libdmclient cannot validate these digests, so
// polling must deliver every update anyway; Package 0 only makes it sooner.
import { timingSafeEqual } from 'node:crypto';
import { AppError } from '../errors.ts';
import { hmacMacBytes } from './auth.ts';

export type UiMode = 0 | 1 | 2 | 3;
export type Initiator = 'server' | 'client';

export interface NotificationInput {
  serverId: string;
  serverPassword: string;
  /** The server nonce the device holds for this server (raw bytes). */
  nonce: Uint8Array;
  sessionId: number;
  /** 0 unspecified, 1 background, 2 informative, 3 user interaction. */
  uiMode: UiMode;
  initiator?: Initiator;
  /** 10 bits. 11 is what the transcribed text says and what libdmclient accepts; others exist in the field. */
  version?: number;
  vendor?: Uint8Array;
}

export interface Notification {
  digest: Uint8Array;
  version: number;
  uiMode: UiMode;
  initiator: Initiator;
  sessionId: number;
  serverId: string;
  vendor: Uint8Array;
}

export const NOTIFICATION_CONTENT_TYPE = 'application/vnd.syncml.notification';
export const DEFAULT_NOTIFICATION_VERSION = 11;

const DIGEST_LENGTH = 16;
const HEADER_LENGTH = 8;
const FIXED_LENGTH = DIGEST_LENGTH + HEADER_LENGTH;

const invalid = (message: string): AppError => new AppError('VALIDATION', message);

const isInteger = (value: unknown, min: number, max: number): value is number =>
  typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max;

export function buildNotification(input: NotificationInput): Uint8Array {
  const version = input.version ?? DEFAULT_NOTIFICATION_VERSION;
  const initiator = input.initiator ?? 'server';
  const vendor = input.vendor ?? new Uint8Array(0);
  if (!isInteger(version, 0, 1023)) throw invalid(`notification version must be an integer 0..1023, got ${String(version)}`);
  if (!isInteger(input.uiMode, 0, 3)) throw invalid(`ui mode must be 0, 1, 2 or 3, got ${String(input.uiMode)}`);
  if (initiator !== 'server' && initiator !== 'client') throw invalid(`initiator must be 'server' or 'client'`);
  if (!isInteger(input.sessionId, 0, 0xffff)) {
    throw invalid(`session id must be an integer 0..65535, got ${String(input.sessionId)}`);
  }
  // Printable ASCII only: the device compares it byte for byte with its DMAcc ServerID.
  if (!/^[\x20-\x7e]{1,255}$/.test(input.serverId)) {
    throw invalid('server id must be 1..255 printable ASCII characters');
  }
  if (!(input.nonce instanceof Uint8Array)) throw invalid('nonce must be bytes');
  if (!(vendor instanceof Uint8Array)) throw invalid('vendor data must be bytes');

  const serverId = Buffer.from(input.serverId, 'ascii');
  const trigger = new Uint8Array(HEADER_LENGTH + serverId.length + vendor.length);
  // version(10) ui-mode(2) initiator(1) future-use(27) session-id(16) server-id-length(8)
  trigger[0] = version >> 2;
  trigger[1] = ((version & 0b11) << 6) | (input.uiMode << 4) | ((initiator === 'server' ? 1 : 0) << 3);
  trigger[5] = input.sessionId >> 8;
  trigger[6] = input.sessionId & 0xff;
  trigger[7] = serverId.length;
  trigger.set(serverId, HEADER_LENGTH);
  trigger.set(vendor, HEADER_LENGTH + serverId.length);

  const digest = hmacMacBytes(input.serverId, input.serverPassword, input.nonce, trigger);
  const message = new Uint8Array(DIGEST_LENGTH + trigger.length);
  message.set(digest, 0);
  message.set(trigger, DIGEST_LENGTH);
  return message;
}

/** Decodes a Package 0 without checking its digest (see verifyNotification). */
export function parseNotification(bytes: Uint8Array): Notification {
  if (!(bytes instanceof Uint8Array)) throw invalid('notification must be bytes');
  if (bytes.length < FIXED_LENGTH) {
    throw invalid(`notification is ${bytes.length} bytes; at least ${FIXED_LENGTH} (digest and header) are needed`);
  }
  const byte = (index: number): number => bytes[index] ?? 0;
  const serverIdLength = byte(DIGEST_LENGTH + 7);
  const serverIdEnd = FIXED_LENGTH + serverIdLength;
  if (serverIdLength === 0) throw invalid('notification has an empty server id');
  if (serverIdEnd > bytes.length) {
    throw invalid(`notification server id length ${serverIdLength} runs past the end of the ${bytes.length}-byte message`);
  }
  const serverIdBytes = bytes.subarray(FIXED_LENGTH, serverIdEnd);
  if (serverIdBytes.some((b) => b > 0x7f)) throw invalid('notification server id is not ASCII');

  const h0 = byte(DIGEST_LENGTH);
  const h1 = byte(DIGEST_LENGTH + 1);
  // Copies into plain Uint8Arrays: on a Buffer, slice() is a view that would alias the input.
  // The 27 future-use bits are ignored, not refused: a later version may use them, and
  // the digest (verifyNotification) covers them as received anyway.
  return {
    digest: new Uint8Array(bytes.subarray(0, DIGEST_LENGTH)),
    version: (h0 << 2) | (h1 >> 6),
    uiMode: ((h1 >> 4) & 0b11) as UiMode,
    initiator: (h1 >> 3) & 1 ? 'server' : 'client',
    sessionId: (byte(DIGEST_LENGTH + 5) << 8) | byte(DIGEST_LENGTH + 6),
    serverId: Buffer.from(serverIdBytes).toString('ascii'),
    vendor: new Uint8Array(bytes.subarray(serverIdEnd)),
  };
}

/**
 * Recomputes the digest over the trigger exactly as received (not re-encoded from the
 * parsed fields) with the server id the message names. False for anything malformed.
 */
export function verifyNotification(bytes: Uint8Array, serverPassword: string, nonce: Uint8Array): boolean {
  let parsed: Notification;
  try {
    parsed = parseNotification(bytes);
  } catch (error) {
    if (error instanceof AppError) return false;
    throw error;
  }
  const trigger = bytes.subarray(DIGEST_LENGTH);
  const want = hmacMacBytes(parsed.serverId, serverPassword, nonce, trigger);
  return timingSafeEqual(parsed.digest, want);
}

/** The SessionID a device uses in the session a Package 0 opens: uppercase hex, no leading zeros. */
export function notificationSessionId(sessionId: number): string {
  return sessionId.toString(16).toUpperCase();
}
