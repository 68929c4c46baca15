// Helpers for the console tests: two small builds of one model, devices registered through
// the API, campaigns created through the API, and the console's forms posted the way a
// browser posts them (urlencoded, with an Origin header, redirects not followed).
import { expect } from 'vitest';
import { nextBuild, pseudoRandom } from '../support/harness.ts';
import type { TestServer } from '../support/server.ts';

export const MODEL = 'console-m';
export const DEVICE_PASSWORD = 'device-password-1';

export interface Builds {
  v1: { id: string; image: Buffer };
  v2: { id: string; image: Buffer };
}

/** Uploads 1.0 and 2.0 of MODEL as manufacturer acme; 2.0 gets a delta from 1.0. */
export async function uploadBuilds(server: TestServer, size = 64 * 1024): Promise<Builds> {
  const image1 = pseudoRandom(size, 'console-v1');
  const image2 = nextBuild(image1, 'console-v2');
  const ids: string[] = [];
  for (const [version, image] of [['1.0', image1], ['2.0', image2]] as const) {
    const build = await server.upload(MODEL, version, image);
    expect(build.status).toBe('ready');
    ids.push(build.id);
  }
  return { v1: { id: ids[0] ?? '', image: image1 }, v2: { id: ids[1] ?? '', image: image2 } };
}

const json = (server: TestServer, body: unknown) => ({ method: 'POST', token: server.tokens.operator, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

export async function registerDevice(server: TestServer, id: string, options: { model?: string; firmwareVersion?: string } = {}): Promise<void> {
  const res = await server.api('/api/v1/devices', json(server, { id, model: options.model ?? MODEL, firmwareVersion: options.firmwareVersion ?? '1.0', credentials: { username: id, password: DEVICE_PASSWORD } }));
  expect(res.status, await res.clone().text()).toBe(201);
}

export interface NewCampaign {
  name: string;
  buildId: string;
  deviceIds?: string[];
  stages?: Array<{ percent: number; requiresApproval: boolean }>;
  fourEyes?: boolean;
  maintenanceWindow?: { timeZone: string; days: string[]; start: string; end: string };
}

const WEEKDAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] as const;

/**
 * A whole-day UTC window on the days after tomorrow only, so it is closed now (today and a
 * yesterday-started window both left out) and opens at midnight UTC the day after tomorrow.
 */
export function windowClosedNow(now: number): { window: NonNullable<NewCampaign['maintenanceWindow']>; opensLocal: string } {
  const today = new Date(now).getUTCDay();
  const days = [2, 3, 4, 5].map((ahead) => WEEKDAYS[(today + ahead) % 7] ?? 'sun');
  const first = days[0] ?? 'sun';
  return { window: { timeZone: 'UTC', days, start: '00:00', end: '00:00' }, opensLocal: `${first.charAt(0).toUpperCase()}${first.slice(1)} 00:00 UTC` };
}

export async function createCampaign(server: TestServer, c: NewCampaign): Promise<string> {
  const res = await server.api(
    '/api/v1/campaigns',
    json(server, {
      name: c.name,
      buildId: c.buildId,
      ...(c.deviceIds ? { cohort: { deviceIds: c.deviceIds } } : {}),
      stages: c.stages ?? [{ percent: 100, requiresApproval: true }],
      successThreshold: 1,
      failureThreshold: 0.5,
      minSample: 1,
      ...(c.fourEyes === undefined ? {} : { fourEyes: c.fourEyes }),
      ...(c.maintenanceWindow ? { maintenanceWindow: c.maintenanceWindow } : {}),
    }),
  );
  expect(res.status, await res.clone().text()).toBe(201);
  return ((await res.json()) as { id: string }).id;
}

/** The campaign once the engine has looked at what was done to it (it runs outside the requests). */
export async function campaignState(server: TestServer, id: string): Promise<{ state: string; pausedReason?: string; stages: Array<{ state: string; counts: Record<string, number> }> }> {
  await server.campaigns.idle();
  const res = await server.api(`/api/v1/campaigns/${id}`, { token: server.tokens.operator });
  expect(res.status).toBe(200);
  return (await res.json()) as { state: string; pausedReason?: string; stages: Array<{ state: string; counts: Record<string, number> }> };
}

/** A GET as the browser sends it, with the session cookie if given; redirects are returned, not followed. */
export function get(server: TestServer, path: string, cookie?: string, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${server.url}${path}`, { redirect: 'manual', headers: { ...(cookie ? { cookie } : {}), ...headers } });
}

/** A form POST; `origin: null` leaves the Origin header out, as a forged request might. */
export function post(server: TestServer, path: string, fields: Record<string, string>, options: { cookie?: string; origin?: string | null } = {}): Promise<Response> {
  const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
  if (options.origin !== null) headers.origin = options.origin ?? server.url;
  if (options.cookie) headers.cookie = options.cookie;
  return fetch(`${server.url}${path}`, { method: 'POST', redirect: 'manual', headers, body: new URLSearchParams(fields).toString() });
}

/** Signs in and returns the Cookie header value for later requests. */
export async function login(server: TestServer, token: string): Promise<string> {
  const res = await post(server, '/login', { token });
  expect(res.status).toBe(303);
  const cookie = res.headers.getSetCookie().find((c) => c.startsWith('fota_console='));
  if (!cookie) throw new Error('no session cookie after sign-in');
  return cookie.split(';')[0] ?? '';
}
