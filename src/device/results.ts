// The FUMO result codes the agent reports (omadm/fumo-results.ts): the package checks of
// packages/verify.ts, plus the download outcomes only a device sees. Outcomes travel as
// values ({ok: false, resultCode, reason}); only a broken disk or a bug throws.
import { FumoResult } from '../omadm/fumo-results.ts';

export const DeviceResult = {
  Success: FumoResult.Success,
  CorruptedPackage: FumoResult.CorruptedPackage,
  PackageMismatch: FumoResult.PackageMismatch,
  SignatureFailed: FumoResult.SignatureFailed,
  NotAcceptable: FumoResult.NotAcceptable,
  UpdateFailed: FumoResult.UpdateFailed,
  /** PkgURL is not an http(s) URL the agent can fetch. */
  BadUrl: FumoResult.BadUrl,
  /** The download server refused the request (4xx) or stayed unavailable (503). */
  ServerUnavailable: FumoResult.ServerUnavailable,
  /** The download server kept failing (5xx other than 503). */
  ServerError: FumoResult.ServerError,
  /** The connection kept failing (refused, reset, timed out) after every retry. */
  NetworkFailure: FumoResult.NetworkFailure,
} as const;

export type DeviceResultCode = (typeof DeviceResult)[keyof typeof DeviceResult];

export type Failure = { ok: false; resultCode: Exclude<DeviceResultCode, 200>; reason: string };
export type Outcome<T> = ({ ok: true } & T) | Failure;

export function fail(resultCode: Failure['resultCode'], reason: string): Failure {
  return { ok: false, resultCode, reason };
}
