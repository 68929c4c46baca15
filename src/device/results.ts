// The FUMO result codes the agent reports (PROTOCOL.md "FUMO"): the package checks of
// packages/verify.ts, plus the download outcomes only a device sees. Outcomes travel as
// values ({ok: false, resultCode, reason}); only a broken disk or a bug throws.
import { FUMO_DESCRIPTIONS, FumoResult } from '../packages/fumo-codes.ts';

export const DeviceResult = {
  ...FumoResult,
  /** PkgURL is not an http(s) URL the agent can fetch. */
  BadUrl: 411,
  /** The download server refused the request (4xx) or stayed unavailable (503). */
  ServerUnavailable: 412,
  /** The download server kept failing (5xx other than 503). */
  ServerError: 500,
  /** The connection kept failing (refused, reset, timed out) after every retry. */
  NetworkFailure: 503,
} as const;

export type DeviceResultCode = (typeof DeviceResult)[keyof typeof DeviceResult];

export type Failure = { ok: false; resultCode: Exclude<DeviceResultCode, 200>; reason: string };
export type Outcome<T> = ({ ok: true } & T) | Failure;

export function fail(resultCode: Failure['resultCode'], reason: string): Failure {
  return { ok: false, resultCode, reason };
}

const descriptions: Record<DeviceResultCode, string> = {
  ...FUMO_DESCRIPTIONS,
  411: 'bad package URL',
  412: 'download server unavailable',
  500: 'download server error',
  503: 'download network failure',
};

export function describeDeviceResult(code: DeviceResultCode): string {
  return `${code} ${descriptions[code]}`;
}
