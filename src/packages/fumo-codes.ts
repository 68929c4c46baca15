// FUMO result codes (OMA FUMO 1.0, see PROTOCOL.md) that the package checks produce. The
// device reports them in its Generic Alert; the CLI names them in its messages.
export const FumoResult = {
  Success: 200,
  CorruptedPackage: 402,
  PackageMismatch: 403,
  SignatureFailed: 404,
  NotAcceptable: 405,
  UpdateFailed: 410,
} as const;

export type FumoResultCode = (typeof FumoResult)[keyof typeof FumoResult];

export const FUMO_DESCRIPTIONS: Readonly<Record<FumoResultCode, string>> = {
  200: 'successful',
  402: 'corrupted firmware update package',
  403: 'firmware update package does not match the device',
  404: 'signature validation failed',
  405: 'firmware update package not acceptable',
  410: 'firmware update failed',
};

export function describeResult(code: FumoResultCode): string {
  return `${code} ${FUMO_DESCRIPTIONS[code]}`;
}
