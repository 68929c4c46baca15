// SCOMO 1.0 (urn:oma:mo:oma-scomo:1.0, PROTOCOL.md "Beyond FUMO"): the tree layout, the
// operations, the OperationComplete alert and its result codes. The one vocabulary the
// server, the reference agent, the console and the CLI share.

export const SCOMO_ROOT = './SCOMO';
export const DOWNLOAD_ROOT = `${SCOMO_ROOT}/Download`;
export const DELIVERED_ROOT = `${SCOMO_ROOT}/Inventory/Delivered`;
export const DEPLOYED_ROOT = `${SCOMO_ROOT}/Inventory/Deployed`;

/** The leaves of a deployed component the server reads into the inventory. */
export const DEPLOYED_LEAVES = ['ID', 'Name', 'Version', 'State'] as const;

/** The alert type a device reports a finished operation with (the `.dm.` spelling and SCOMO's URN are accepted too). */
export const OPERATION_COMPLETE = 'org.openmobilealliance.softwarecomponent.OperationComplete';

export function isOperationComplete(type: string): boolean {
  const t = type.replace(/^Reversed-Domain-Name:\s*/i, '').trim();
  return /^org\.openmobilealliance\.(dm\.)?softwarecomponent\.operationcomplete$/i.test(t) || /^urn:oma:at:scomo:1\.0:operationcomplete$/i.test(t);
}

export const ScomoResult = {
  Success: 1200,
  ClientError: 1400,
  UserCancelled: 1401,
  DownloadFailed: 1402,
  AlternateDownloadAuthFailed: 1403,
  DownloadOutOfMemory: 1404,
  InstallFailed: 1405,
  InstallOutOfMemory: 1406,
  ValidationFailed: 1407,
  RemoveFailed: 1408,
  ActivateFailed: 1409,
  DeactivateFailed: 1410,
  NotImplemented: 1411,
  UndefinedError: 1412,
  UnsupportedEnvironment: 1413,
  DownloadServerError: 1500,
  DownloadServerUnavailable: 1501,
} as const;

const MEANINGS: ReadonlyMap<number, string> = new Map([
  [1200, 'successful'],
  [1400, 'client error'],
  [1401, 'cancelled by the user'],
  [1402, 'download failed'],
  [1403, 'alternate download authentication failure'],
  [1404, 'download failed: device out of memory'],
  [1405, 'install failed'],
  [1406, 'install failed: device out of memory'],
  [1407, 'package validation failed'],
  [1408, 'remove failed'],
  [1409, 'activate failed'],
  [1410, 'deactivate failed'],
  [1411, 'not implemented'],
  [1412, 'undefined error'],
  [1413, 'unsupported environment'],
  [1500, 'download server error'],
  [1501, 'download server unavailable'],
]);

/** 1200-1299: the operation succeeded (1250-1299 are vendors' own success codes). */
export function isScomoSuccess(code: number): boolean {
  return code >= 1200 && code < 1300;
}

/** Codes a retry may cure: the download server was away or failed. */
export const TRANSIENT_SCOMO_RESULTS: ReadonlySet<number> = new Set([ScomoResult.DownloadServerError, ScomoResult.DownloadServerUnavailable]);

export function scomoMeaning(code: number): string {
  const known = MEANINGS.get(code);
  if (known !== undefined) return known;
  if (code >= 1250 && code < 1300) return 'successful (vendor code)';
  if (code >= 1450 && code < 1500) return 'client error (vendor code)';
  return 'unknown result code';
}

/** "1405 install failed": how messages name a result. */
export function describeScomoResult(code: number): string {
  return `${code} ${scomoMeaning(code)}`;
}

/** The Data of an OperationComplete alert: `<ResultCode>1200</ResultCode><Identifier>x</Identifier>`. */
export function operationCompleteData(resultCode: number, identifier: string): string {
  return `<ResultCode>${resultCode}</ResultCode><Identifier>${escapeText(identifier)}</Identifier>`;
}

/**
 * The result code and identifier of an OperationComplete alert's Data: the element form
 * above, or a bare code as some clients send. Undefined when there is no code in range.
 * A regular expression over a bounded string, never an XML parser: nothing the device
 * writes here can expand.
 */
export function parseOperationComplete(data: string): { resultCode: number; identifier?: string } | undefined {
  const text = data.slice(0, 4096).trim();
  const bare = /^\d{4}$/.test(text) ? text : /<ResultCode>\s*(\d{4})\s*<\/ResultCode>/i.exec(text)?.[1];
  if (bare === undefined) return undefined;
  const code = Number(bare);
  if (code < 1000 || code > 1999) return undefined;
  const identifier = /<Identifier>([^<]{1,200})<\/Identifier>/i.exec(text)?.[1]?.trim();
  return { resultCode: code, ...(identifier ? { identifier } : {}) };
}

function escapeText(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
