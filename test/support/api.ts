// The management API in process, for route tests: a context in a temp dir (no job runner,
// campaign loop or sweeps, so nothing runs on a timer), the app from createApp called
// with app.request() instead of a port, and a token for each role (two manufacturers, to
// test scoping).
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import pino from 'pino';
import { expect } from 'vitest';
import { z } from 'zod';
import type { ApiRoute } from '../../src/api/spec.ts';
import { loadConfig, type Config } from '../../src/config.ts';
import { closeContext, type Context, createContext } from '../../src/context.ts';
import { createApp } from '../../src/server.ts';
import { bootstrapAdmin, createToken } from '../../src/tokens/tokens.ts';
import { afterThis, tempDirFor } from './harness.ts';
import { testDatabaseUrl } from './store.ts';

export interface TestApi {
  ctx: Context;
  tokens: { admin: string; acme: string; globex: string; operator: string };
  /** `token` becomes the bearer header; `json` becomes the body, sent as application/json. */
  request(path: string, init?: RequestInit & { token?: string; json?: unknown }): Promise<Response>;
}

const ADMIN_TOKEN = 'test-admin-token-0123456789';

/** Builds the API for the current test, or file (from a beforeAll); closed and removed when that ends. */
export async function createTestApi(overrides: Partial<Config> = {}, cleanup: (fn: () => Promise<void> | void) => void = afterThis): Promise<TestApi> {
  const dir = tempDirFor('api', cleanup);
  const databaseUrl = await testDatabaseUrl();
  const config = loadConfig({}, { dataDir: join(dir, 'data'), artifactsDir: join(dir, 'artifacts'), adminToken: ADMIN_TOKEN, ...(databaseUrl ? { databaseUrl, masterKey: randomBytes(32) } : {}), ...overrides });
  const ctx = await createContext(config, { log: pino({ level: 'silent' }) });
  // Registered after the temp dir, so it runs before the dir is removed (hooks run in reverse).
  cleanup(() => closeContext(ctx));
  await bootstrapAdmin(ctx);
  const mk = async (role: 'manufacturer' | 'operator', name: string, manufacturer?: string) => (await createToken(ctx, 'test', { role, name, ...(manufacturer ? { manufacturer } : {}) })).token;
  const tokens = { admin: ADMIN_TOKEN, acme: await mk('manufacturer', 'acme ci', 'acme'), globex: await mk('manufacturer', 'globex ci', 'globex'), operator: await mk('operator', 'ops') };
  const app = await createApp(ctx);
  const request: TestApi['request'] = async (path, init = {}) => {
    const { token, json, ...rest } = init;
    const headers = new Headers(rest.headers);
    if (token) headers.set('authorization', `Bearer ${token}`);
    if (json !== undefined) headers.set('content-type', 'application/json');
    return app.request(path, { ...rest, headers, ...(json !== undefined ? { body: JSON.stringify(json) } : {}) });
  };
  return { ctx, tokens, request };
}

/** The answer's error, for assertions on its code and message. */
export async function errorOf(res: Response): Promise<{ code: string; message: string }> {
  return ((await res.json()) as { error: { code: string; message: string } }).error;
}

/**
 * The answer's JSON body, checked against the schema the route declares for its status:
 * what the OpenAPI document promises is what the handler sends.
 */
export async function declaredBody(route: ApiRoute, res: Response): Promise<unknown> {
  const declared = route.responses[res.status];
  const media = declared && 'content' in declared ? declared.content?.['application/json'] : undefined;
  const schema = media && 'schema' in media ? media.schema : undefined;
  if (!(schema instanceof z.ZodType)) throw new Error(`${route.method} ${route.path} declares no JSON answer for ${res.status}`);
  const body: unknown = await res.json();
  const parsed = schema.safeParse(body);
  expect(parsed.error?.issues ?? [], `${route.method} ${route.path} ${res.status}`).toEqual([]);
  return body;
}
