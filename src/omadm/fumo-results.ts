// The FUMO result codes (OMA FUMO 1.0, PROTOCOL.md "FUMO") and what each means: the one
// vocabulary the package checks, the device agent, the deployment rules, the console and
// the CLI all speak. A device reports one in the Data of its Generic Alert 1226.

export const FumoResult = {
  Success: 200,
  ClientError: 400,
  UserCancelled: 401,
  CorruptedPackage: 402,
  PackageMismatch: 403,
  SignatureFailed: 404,
  NotAcceptable: 405,
  AlternateDownloadAuthFailed: 406,
  AlternateDownloadTimeout: 407,
  NotImplemented: 408,
  UndefinedError: 409,
  UpdateFailed: 410,
  BadUrl: 411,
  ServerUnavailable: 412,
  ServerError: 500,
  DownloadOutOfMemory: 501,
  UpdateOutOfMemory: 502,
  NetworkFailure: 503,
} as const;

export type FumoResultCode = (typeof FumoResult)[keyof typeof FumoResult];

const MEANINGS: ReadonlyMap<number, string> = new Map<FumoResultCode, string>([
  [200, 'successful'],
  [400, 'client error'],
  [401, 'cancelled by the user'],
  [402, 'corrupted firmware update package'],
  [403, 'firmware update package does not match the device'],
  [404, 'signature validation failed'],
  [405, 'firmware update package not acceptable'],
  [406, 'alternate download authentication failure'],
  [407, 'download request timed out'],
  [408, 'not implemented'],
  [409, 'undefined error'],
  [410, 'firmware update failed'],
  [411, 'malformed or bad URL'],
  [412, 'download server unavailable'],
  [500, 'download server error'],
  [501, 'download failed: device out of memory'],
  [502, 'update failed: device out of memory'],
  [503, 'download failed: network error'],
]);

/** Codes a retry may cure: the download timed out, its server was away, or the network failed. */
export const TRANSIENT_FUMO_RESULTS: ReadonlySet<number> = new Set([FumoResult.AlternateDownloadTimeout, FumoResult.ServerUnavailable, FumoResult.NetworkFailure]);

/** 200-299: the operation succeeded (250-299 are vendors' own success codes). */
export function isFumoSuccess(code: number): boolean {
  return code >= 200 && code < 300;
}

/** What a code means, in words; vendors' codes by their range. */
export function fumoMeaning(code: number): string {
  const known = MEANINGS.get(code);
  if (known !== undefined) return known;
  if (code >= 250 && code < 300) return 'successful (vendor code)';
  if (code >= 450 && code < 500) return 'client error (vendor code)';
  if (code >= 550 && code < 600) return 'download server error (vendor code)';
  return 'unknown result code';
}

/** "402 corrupted firmware update package": how messages name a result. */
export function describeFumoResult(code: number): string {
  return `${code} ${fumoMeaning(code)}`;
}
