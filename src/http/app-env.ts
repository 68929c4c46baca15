// The Hono environment the whole HTTP application shares: server.ts sets the request id
// for every request, the API's authorization sets the principal. Every transport (api,
// dm, download, web) mounts its routes on an app of this type without importing another
// transport for it.
import type { Principal } from '../tokens/tokens.ts';

export type AppEnv = { Variables: { principal: Principal; requestId: string } };
