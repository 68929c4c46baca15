// How long the SyncHdr fields a device chooses may be. Checked right after decoding, before
// anything looks up the device, writes a row or a log line: an unauthenticated message
// must not make the server store or print a 240 KB SessionID. Real clients use short
// values (a Package 0 session id is 16 bits, four hex digits; libdmclient sends a small
// decimal number), so the limits are generous to them and tight to a flood.

import type { SyncHdr } from '../../omadm/codec/message.ts';

export const HEADER_LIMITS = {
  sessionId: 32,
  /** Device ids are at most 128 characters (devices/schemas.ts). */
  source: 128,
  sourceName: 128,
  /** The server's URL as the device knows it, RespURI token included. */
  target: 1024,
  msgId: 2 ** 31 - 1,
} as const;

/** What is wrong with the header, in words for the HTTP 400 answer; undefined when nothing is. */
export function headerProblem(header: SyncHdr): string | undefined {
  const tooLong = (name: string, value: string | undefined, max: number) =>
    value !== undefined && value.length > max ? `${name} is ${value.length} characters long; at most ${max} are accepted` : undefined;
  return (
    tooLong('SessionID', header.sessionId, HEADER_LIMITS.sessionId) ??
    tooLong('Source LocURI (DevId)', header.source, HEADER_LIMITS.source) ??
    tooLong('Source LocName', header.sourceName, HEADER_LIMITS.sourceName) ??
    tooLong('Target LocURI', header.target, HEADER_LIMITS.target) ??
    (header.sessionId === '' ? 'SessionID is empty' : undefined) ??
    (header.source === '' ? 'Source LocURI (DevId) is empty' : undefined) ??
    (header.msgId < 1 || header.msgId > HEADER_LIMITS.msgId ? `MsgID ${header.msgId} is not between 1 and ${HEADER_LIMITS.msgId}` : undefined)
  );
}
