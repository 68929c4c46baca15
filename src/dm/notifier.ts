// How a Package 0 reaches a device. Real deployments use WAP Push/SMS gateways fota does
// not own, so fota POSTs the bytes to a webhook that does, or does nothing. A failed
// notification is an expected outcome, not an error: the device still gets its update
// when it next polls, so notify() reports and never throws.
import { AppError } from '../errors.ts';
import { NOTIFICATION_CONTENT_TYPE } from './notification.ts';

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
 * Refuses anything but http(s), and URLs with user:password in them, which fetch cannot
 * send (put a token in the path or query instead).
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
  fetch?: typeof fetch;
}

export class WebhookNotifier implements Notifier {
  private readonly globalUrl: string | undefined;
  private readonly timeoutMs: number;
  private readonly fetchImpl: typeof fetch;

  constructor(options: WebhookNotifierOptions = {}) {
    // A bad global URL is a configuration mistake: fail at start, not on every notify.
    if (options.globalUrl !== undefined) assertWebhookUrl(options.globalUrl);
    const timeoutMs = options.timeoutMs ?? DEFAULT_WEBHOOK_TIMEOUT_MS;
    if (!Number.isInteger(timeoutMs) || timeoutMs <= 0) {
      throw new AppError('VALIDATION', `webhook timeout must be a positive whole number of milliseconds, got ${timeoutMs}`);
    }
    this.globalUrl = options.globalUrl;
    this.timeoutMs = timeoutMs;
    this.fetchImpl = options.fetch ?? fetch;
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
    // Reasons are stored and logged: name the host only, since the path or query may hold a token.
    const where = parsed.host;
    if (!/^[\x21-\x7e]+$/.test(target.deviceId)) {
      return { delivered: false, reason: 'device id cannot be sent in an HTTP header (printable ASCII only)' };
    }
    const fetchImpl = this.fetchImpl;
    try {
      const response = await fetchImpl(parsed, {
        method: 'POST',
        headers: { 'content-type': NOTIFICATION_CONTENT_TYPE, [DEVICE_ID_HEADER]: target.deviceId },
        body: message,
        // Following a redirect would forward device data somewhere nobody configured (and
        // a 303 would silently turn the POST into a GET); a 3xx counts as not delivered.
        redirect: 'manual',
        signal: AbortSignal.timeout(this.timeoutMs),
      });
      // The body is of no use; cancelling it frees the connection.
      await response.body?.cancel().catch(() => undefined);
      if (response.status >= 200 && response.status < 300) return { delivered: true, status: response.status };
      return { delivered: false, reason: `webhook at ${where} answered HTTP ${response.status}` };
    } catch (error) {
      return { delivered: false, reason: describeFailure(error, where, this.timeoutMs) };
    }
  }
}

function describeFailure(error: unknown, where: string, timeoutMs: number): string {
  if (error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError')) {
    return `webhook at ${where} did not answer within ${timeoutMs} ms`;
  }
  // undici reports connection problems as TypeError('fetch failed') with the socket error as cause.
  const cause = error instanceof Error ? error.cause : undefined;
  if (cause instanceof Error) {
    const code = 'code' in cause ? cause.code : undefined;
    return `webhook at ${where} unreachable: ${typeof code === 'string' ? code : cause.message}`;
  }
  return `webhook at ${where} failed: ${error instanceof Error ? error.message : String(error)}`;
}
