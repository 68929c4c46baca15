// Helpers for the console's application tests: applications uploaded through the API as a
// manufacturer, baselines set through the API, and reference agents (real DM over HTTP)
// with applications installed at the factory, so the server reads a real inventory.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect } from 'vitest';
import { DeviceAgent } from '../../src/device/agent.ts';
import type { ScomoFaults } from '../../src/device/scomo.ts';
import { parseTrust } from '../../src/device/trust.ts';
import { pseudoRandom } from '../support/harness.ts';
import type { TestServer } from '../support/server.ts';

export interface UploadedApp {
  id: string;
  component: string;
  version: string;
  packages: Array<{ id: string; kind: string; fromVersion: string | null }>;
}

export async function uploadApp(server: TestServer, model: string, component: string, version: string, bytes: Uint8Array, token = server.tokens.acme): Promise<UploadedApp> {
  const res = await server.api(`/api/v1/apps?${new URLSearchParams({ model, component, version }).toString()}`, { method: 'POST', token, body: bytes, headers: { 'content-type': 'application/octet-stream' } });
  expect(res.status, await res.clone().text()).toBe(201);
  return (await res.json()) as UploadedApp;
}

export async function putBaseline(server: TestServer, model: string, baseline: { apps: Array<{ component: string; version: string }>; forbidden?: string[] }): Promise<void> {
  const res = await server.api(`/api/v1/baselines/${encodeURIComponent(model)}`, { method: 'PUT', token: server.tokens.operator, headers: { 'content-type': 'application/json' }, body: JSON.stringify(baseline) });
  expect(res.status, await res.clone().text()).toBe(200);
}

export async function getBaseline(server: TestServer, model: string): Promise<{ status: number; body: unknown }> {
  const res = await server.api(`/api/v1/baselines/${encodeURIComponent(model)}`, { token: server.tokens.operator });
  return { status: res.status, body: await res.json() };
}

export async function deviceApps(server: TestServer, id: string): Promise<{ components: Array<{ component: string; version: string; state: string }>; deployments: Array<{ id: string; component: string; operation: string; state: string; resultCode: number | null }> }> {
  const res = await server.api(`/api/v1/devices/${encodeURIComponent(id)}/apps`, { token: server.tokens.operator });
  expect(res.status).toBe(200);
  return (await res.json()) as Awaited<ReturnType<typeof deviceApps>>;
}

export interface Preinstalled {
  node: string;
  component: string;
  version: string;
  bytes: Uint8Array;
  state?: 'active' | 'inactive';
  name?: string;
}

/** Registers a device through the API and opens its reference agent with these applications installed. */
export async function scomoDevice(server: TestServer, dir: string, id: string, model: string, apps: Preinstalled[], faults?: ScomoFaults): Promise<DeviceAgent> {
  const res = await server.api('/api/v1/devices', { method: 'POST', token: server.tokens.operator, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ id, model, firmwareVersion: '1.0', credentials: { username: id, password: 'device-password' } }) });
  expect(res.status, await res.clone().text()).toBe(201);
  const trust = parseTrust(await (await server.api('/api/v1/manufacturers/acme/keys', { token: server.tokens.operator })).text(), 'served keys');
  const image = join(dir, `${id}.img`);
  await writeFile(image, pseudoRandom(4096, `fw-${id}`));
  const agent = await DeviceAgent.open({ serverUrl: server.url, devId: id, model, username: id, password: 'device-password', dataDir: join(dir, id), image, version: '1.0', trust, ...(faults ? { scomoFailures: faults } : {}) });
  for (const app of apps) await agent.scomo.preinstall(app.node, { id: app.component, version: app.version, ...(app.state ? { state: app.state } : {}), ...(app.name ? { name: app.name } : {}) }, app.bytes);
  return agent;
}
