// The security kind of route test, shared: every declared route refuses a missing or
// unknown token (401) and every role it does not name (403), before it looks at anything
// else. The routes and their roles come from the same declarations the server mounts.
import { expect, it } from 'vitest';
import { apiRoutes } from '../../src/api/routes/index.ts';
import { ROLES, type Role } from '../../src/tokens/tokens.ts';
import type { TestApi } from './api.ts';

export interface DeclaredRoute {
  /** `POST /api/v1/campaigns/:id/start` */
  name: string;
  method: string;
  /** Hono's form, `/api/v1/campaigns/:id/start`. */
  path: string;
  roles: readonly Role[];
}

/** Every declared route, as the authorization sees it. */
export function declaredRoutes(): DeclaredRoute[] {
  return apiRoutes().map((route) => {
    const path = route.getRoutingPath();
    return { name: `${route.method.toUpperCase()} ${path}`, method: route.method, path, roles: route['x-roles'] };
  });
}

/** Calls a route with placeholder params and, for a POST, a JSON body a validator would refuse. */
export function callRoute(api: TestApi, route: DeclaredRoute, token?: string): Promise<Response> {
  return api.request(route.path.replace(/:(\w+)/g, 'x'), { method: route.method.toUpperCase(), ...(token ? { token } : {}), ...(route.method === 'post' ? { json: {} } : {}) });
}

const tokenOf = (api: TestApi, role: Role) => ({ admin: api.tokens.admin, manufacturer: api.tokens.acme, operator: api.tokens.operator })[role];

/** Registers the 401 and 403 cases of `routes`; `api` is read when the tests run. */
export function itRefusesTheWrongCaller(api: () => TestApi, routes: DeclaredRoute[]): void {
  it.each(routes.map((r) => [r.name, r] as const))('%s refuses a missing token and an unknown one (401)', async (_name, route) => {
    for (const token of [undefined, 'fota_not-a-real-token']) {
      const res = await callRoute(api(), route, token);
      expect(res.status).toBe(401);
      expect(await res.json()).toMatchObject({ error: { code: 'UNAUTHORIZED' } });
    }
  });

  const forbidden = routes.flatMap((route) => ROLES.filter((role) => !route.roles.includes(role)).map((role) => [route.name, role, route] as const));
  it.each(forbidden)('%s refuses the %s role (403)', async (_name, role, route) => {
    const res = await callRoute(api(), route, tokenOf(api(), role));
    expect(res.status).toBe(403);
    expect(await res.json()).toMatchObject({ error: { code: 'FORBIDDEN', message: expect.stringContaining(`this token is ${role}`) } });
  });
}
