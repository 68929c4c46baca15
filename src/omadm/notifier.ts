// How a Package 0 reaches a device. Real deployments use WAP Push/SMS gateways fota does
// not own, so fota POSTs the bytes to a webhook that does, or does nothing. A failed
// notification is an expected outcome, not an error: the device still gets its update
// when it next polls, so notify() reports and never throws.
//
// A device's own webhook is held to the address rule (webhook-address.ts) at every send:
// its host is resolved once, every address checked, and the connection made to a checked
// address (not through a second lookup a rebinding DNS could answer differently), with
// the name kept for the Host header and TLS (SNI, certificate). The operator's global
// webhook (FOTA_NOTIFY_WEBHOOK) is configuration the operator chose, so the rule does not
// apply to it; often it is a gateway beside the server on a private address.
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import { AppError } from '../errors.ts';
import { NOTIFICATION_CONTENT_TYPE } from './notification.ts';
import { bareHost, hostRefusal, type ResolvedAddress, type ResolveHost, resolvedRefusal, systemResolve } from './webhook-address.ts';

export type NotifyResult = { delivered: true; status: number } | { delivered: false; reason: string };

export interface NotifyTarget {
  deviceId: string;
  /** A per-device webhook, e.g. one operator's SMS gateway; wins over the global one. */
  webhookUrl?: string;
}

export interface Notifier {
  notify(target: NotifyTarget, message: Uint8Array): Promise<NotifyResult>;
}

export const NO_WEBHOOK_REASON = 'no webhook configured; the device will be reached when it next polls';
export const DEVICE_ID_HEADER = 'x-fota-device-id';
export const DEFAULT_WEBHOOK_TIMEOUT_MS = 5000;

/**
 * Refuses anything but http(s), and URLs with user:password in them: they would be sent
 * as Basic credentials to whoever answers (put a token in the path or query instead).
 * Where the host may be is the address rule's business (webhook-address.ts).
 */
export function assertWebhookUrl(url: string): URL {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    // The URL is not echoed: it may carry a token.
    throw new AppError('VALIDATION', 'webhook URL is not a valid absolute URL');
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new AppError('VALIDATION', `webhook URL must be http or https, got ${parsed.protocol.replace(/:$/, '')}`);
  }
  if (parsed.username !== '' || parsed.password !== '') {
    throw new AppError('VALIDATION', 'webhook URL must not contain user:password; put a token in the path or query');
  }
  return parsed;
}

export class NoNotifier implements Notifier {
  async notify(): Promise<NotifyResult> {
    return { delivered: false, reason: NO_WEBHOOK_REASON };
  }
}

export interface WebhookNotifierOptions {
  globalUrl?: string;
  timeoutMs?: number;
  /** Let device webhooks point at loopback, private and other non-public addresses (FOTA_WEBHOOK_ALLOW_PRIVATE). */
  allowPrivate?: boolean;
  /** Resolves webhook host names; the system resolver unless a test stands in for DNS. */
  lookup?: ResolveHost;
}

export class WebhookNotifier implements Notifier {
  private readonly globalUrl: string | undefined;
  private readonly timeoutMs: number;
  private readonly allowPrivate: boolean;
  private readonly lookup: ResolveHost;

  constructor(options: WebhookNotifierOptions = {}) {
    // A bad global URL is a configuration mistake: fail at start, not on every notify.
    if (options.globalUrl !== undefined) assertWebhookUrl(options.globalUrl);
    const timeoutMs = options.timeoutMs ?? DEFAULT_WEBHOOK_TIMEOUT_MS;
    if (!Number.isInteger(timeoutMs) || timeoutMs <= 0) {
      throw new AppError('VALIDATION', `webhook timeout must be a positive whole number of milliseconds, got ${timeoutMs}`);
    }
    this.globalUrl = options.globalUrl;
    this.timeoutMs = timeoutMs;
    this.allowPrivate = options.allowPrivate ?? false;
    this.lookup = options.lookup ?? systemResolve;
  }

  async notify(target: NotifyTarget, message: Uint8Array): Promise<NotifyResult> {
    const url = target.webhookUrl ?? this.globalUrl;
    if (url === undefined) return { delivered: false, reason: NO_WEBHOOK_REASON };
    let parsed: URL;
    try {
      parsed = assertWebhookUrl(url);
    } catch (error) {
      return { delivered: false, reason: error instanceof Error ? error.message : String(error) };
    }
    const ruled = target.webhookUrl !== undefined && !this.allowPrivate;
    if (!/^[\x21-\x7e]+$/.test(target.deviceId)) {
      return { delivered: false, reason: 'device id cannot be sent in an HTTP header (printable ASCII only)' };
    }
    return postToWebhook(parsed, { 'content-type': NOTIFICATION_CONTENT_TYPE, [DEVICE_ID_HEADER]: target.deviceId }, message, { ruled, lookup: this.lookup, timeoutMs: this.timeoutMs });
  }
}

export interface WebhookPostOptions {
  /** Hold the host to the address rule (webhook-address.ts), as written and as resolved. */
  ruled: boolean;
  lookup: ResolveHost;
  timeoutMs: number;
}

/**
 * POSTs `body` to `url` (already through assertWebhookUrl): with `ruled`, the host is held
 * to the address rule as written and on every address it resolves to, and the connection
 * goes to a checked address. 2xx is delivered; anything else (redirects included) is not.
 * Used for Package 0 and for operator webhooks (src/webhooks).
 */
export async function postToWebhook(parsed: URL, headers: Record<string, string>, body: Uint8Array, options: WebhookPostOptions): Promise<NotifyResult> {
  // Reasons are stored and logged: name the host only, since the path or query may hold a token.
  const where = parsed.host;
  // Registered before the rule, or stored by other means: the URL is checked again here.
  const refused = options.ruled ? hostRefusal(parsed.hostname) : undefined;
  if (refused) return { delivered: false, reason: `webhook at ${where} not sent: ${refused}` };
  // One deadline for the lookup, the connection and the answer.
  const signal = AbortSignal.timeout(options.timeoutMs);
  try {
    const addresses = await resolve(options.lookup, parsed.hostname, signal);
    if (addresses.length === 0) return { delivered: false, reason: `webhook at ${where} unreachable: no address` };
    const wrong = options.ruled ? resolvedRefusal(bareHost(parsed.hostname), addresses) : undefined;
    if (wrong) return { delivered: false, reason: `webhook at ${where} not sent: ${wrong}` };
    const status = await post(parsed, addresses, headers, body, signal);
    if (status >= 200 && status < 300) return { delivered: true, status };
    // Redirects are not followed: that would forward device data somewhere nobody
    // configured, past the address rule (and a 303 would turn the POST into a GET).
    return { delivered: false, reason: `webhook at ${where} answered HTTP ${status}` };
  } catch (error) {
    return { delivered: false, reason: describeFailure(error, where, options.timeoutMs) };
  }
}

async function resolve(lookup: ResolveHost, hostname: string, signal: AbortSignal): Promise<ResolvedAddress[]> {
  const host = bareHost(hostname);
  const family = isIP(host);
  if (family !== 0) return [{ address: host, family }];
  return Promise.race([lookup(host), rejectOnAbort(signal)]);
}

function rejectOnAbort(signal: AbortSignal): Promise<never> {
  return new Promise((_resolve, reject) => {
    if (signal.aborted) reject(signal.reason);
    signal.addEventListener('abort', () => reject(signal.reason), { once: true });
  });
}

/**
 * A lookup for the socket that answers with the addresses already checked, whatever name
 * it is asked for, so the connection goes where the check said; with `all` (Node tries
 * several addresses in turn) it offers every checked one.
 */
function pinnedLookup(addresses: readonly ResolvedAddress[]): LookupFunction {
  return (_hostname, options, callback) => {
    const [first] = addresses;
    if (!first) return callback(Object.assign(new Error('no address'), { code: 'ENOTFOUND' }), '');
    if ('all' in options && options.all === true) return callback(null, [...addresses]);
    callback(null, first.address, first.family);
  };
}

/** POSTs `body` to a checked address of `url`'s host and returns the status; the answer's body is of no use. */
function post(url: URL, addresses: readonly ResolvedAddress[], headers: Record<string, string>, body: Uint8Array, signal: AbortSignal): Promise<number> {
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const request = send(
      url,
      // No shared agent: a pooled socket would skip the lookup above.
      { method: 'POST', headers: { ...headers, 'content-length': String(body.byteLength) }, lookup: pinnedLookup(addresses), agent: false, signal },
      (response: IncomingMessage) => {
        resolve(response.statusCode ?? 0);
        // Destroying frees the connection without reading a body that could be endless.
        response.destroy();
      },
    );
    request.on('error', reject);
    request.end(body);
  });
}

function describeFailure(error: unknown, where: string, timeoutMs: number): string {
  if (error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError')) {
    return `webhook at ${where} did not answer within ${timeoutMs} ms`;
  }
  // Socket and DNS errors carry an errno code (ECONNREFUSED, ENOTFOUND), here or in a cause.
  const code = errnoCode(error) ?? (error instanceof Error ? errnoCode(error.cause) : undefined);
  if (code) return `webhook at ${where} unreachable: ${code}`;
  return `webhook at ${where} failed: ${error instanceof Error ? error.message : String(error)}`;
}

function errnoCode(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null || !('code' in error)) return undefined;
  return typeof error.code === 'string' && /^E[A-Z0-9_]+$/.test(error.code) ? error.code : undefined;
}
