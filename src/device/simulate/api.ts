// The few management API calls the fleet simulator makes as an operator would, over
// HTTP like everything else a device-side program does: register each simulated device
// (with its DM credentials and its Package 0 webhook) and read the manufacturer keys the
// devices pin. Kept apart from the agent, which never holds an API token.
import { AppError } from '../../errors.ts';
import type { TrustPolicy } from '../../signing/envelope.ts';
import { parseTrust } from '../trust.ts';

export interface ApiAccess {
  /** The server's base URL (http://host:8080). */
  server: string;
  token: string;
}

export interface DeviceRegistration {
  id: string;
  model: string;
  firmwareVersion: string;
  tags?: string[];
  credentials: { username: string; password: string };
  webhookUrl?: string;
}

/** 'exists': the server has a device of that id already (nothing was changed). */
export async function registerDevice(api: ApiAccess, device: DeviceRegistration): Promise<'created' | 'exists'> {
  const res = await call(api, 'POST', '/api/v1/devices', device);
  if (res.status === 201) return 'created';
  if (res.status === 409) return 'exists';
  throw await refusal(res, `registering device ${device.id}`);
}

/** The keys the server publishes for a manufacturer, as devices pin them. */
export async function fetchManufacturerKeys(api: ApiAccess, manufacturer: string): Promise<TrustPolicy> {
  const res = await call(api, 'GET', `/api/v1/manufacturers/${encodeURIComponent(manufacturer)}/keys`);
  if (res.status !== 200) throw await refusal(res, `reading the keys of manufacturer ${manufacturer}`);
  return parseTrust(await res.text(), `${api.server}/api/v1/manufacturers/${manufacturer}/keys`);
}

async function call(api: ApiAccess, method: 'GET' | 'POST', path: string, body?: unknown): Promise<Response> {
  try {
    return await fetch(`${api.server.replace(/\/+$/, '')}${path}`, {
      method,
      headers: { authorization: `Bearer ${api.token}`, accept: 'application/json', ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(60_000),
    });
  } catch (err) {
    // undici says "fetch failed" and puts the socket error in the cause.
    const cause = err instanceof Error && err.cause instanceof Error ? err.cause : err;
    const code = typeof cause === 'object' && cause !== null && 'code' in cause && typeof cause.code === 'string' ? cause.code : undefined;
    throw new AppError('IO', `cannot reach fota server at ${api.server}: ${code ?? (cause instanceof Error ? cause.message : String(cause))}`, { cause: err });
  }
}

async function refusal(res: Response, doing: string): Promise<AppError> {
  const text = await res.text().catch(() => '');
  let message = text.slice(0, 300);
  let rule: string | undefined;
  try {
    const parsed = JSON.parse(text) as { error?: { message?: unknown; rule?: unknown } };
    if (typeof parsed.error?.message === 'string') message = parsed.error.message;
    // Which rule refused (e.g. the webhook address rule), so the command can say what to do.
    if (typeof parsed.error?.rule === 'string') rule = parsed.error.rule;
  } catch {
    // not a fota error body: the raw text says what there is to say
  }
  const code = res.status === 401 ? 'UNAUTHORIZED' : res.status === 403 ? 'FORBIDDEN' : 'IO';
  return new AppError(code, `${doing}: the server answered ${res.status}${message ? `: ${message}` : ''}`, rule ? { details: { rule } } : undefined);
}
