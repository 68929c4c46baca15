// POST /dm: the OMA DM endpoint. Reads the body within the size limit, hands it to the
// session handler, and answers in the request's encoding. Devices authenticate inside
// SyncML (digest, basic or HMAC), not with API tokens.
import { IncomingMessage } from 'node:http';
import type { Hono } from 'hono';
import type { AppEnv } from '../http/app-env.ts';
import type { Context } from '../context.ts';
import { encodingOf } from '../omadm/codec/syncml.ts';
import type { DmGuard } from './session/guard.ts';
import { handleDmMessage } from './session/handle.ts';

export function mountDm(app: Hono<AppEnv>, ctx: Context, guard: DmGuard): void {
  app.post('/dm', async (c) => {
    const contentType = c.req.header('content-type') ?? '';
    try {
      encodingOf(contentType);
    } catch {
      return c.text(`unsupported content type ${JSON.stringify(contentType.slice(0, 100))}; send application/vnd.syncml.dm+xml or +wbxml\n`, 415);
    }
    const limit = ctx.config.dm.maxMessageBytes;
    if (Number(c.req.header('content-length') ?? 0) > limit) return c.text(`a DM message is limited to ${limit} bytes\n`, 413, { connection: 'close' });
    const body = await readLimited(c.req.raw, limit);
    if (!body) return c.text(`a DM message is limited to ${limit} bytes\n`, 413, { connection: 'close' });
    const url = new URL(c.req.url);
    const response = await handleDmMessage(ctx, guard, {
      body,
      contentType,
      ...(url.searchParams.get('s') ? { token: url.searchParams.get('s') ?? '' } : {}),
      ...(c.req.header('x-syncml-hmac') ? { hmacHeader: c.req.header('x-syncml-hmac') ?? '' } : {}),
      serverUrl: ctx.config.dm.publicUrl ? `${ctx.config.dm.publicUrl}/dm` : `${url.origin}/dm`,
      address: peerAddress(c.env),
    });
    return c.body(response.body as Uint8Array<ArrayBuffer>, response.status as 200, { ...response.headers, 'content-type': response.contentType });
  });
}

/**
 * The TCP peer's address, as @hono/node-server exposes it (`env.incoming`). Behind a
 * proxy this is the proxy (README: set FOTA_DM_ADDRESS_MAX_FAILURES=0 there); without a
 * Node server (app.request in tests) there is none.
 */
function peerAddress(env: unknown): string {
  if (typeof env !== 'object' || env === null || !('incoming' in env) || !(env.incoming instanceof IncomingMessage)) return 'unknown';
  return env.incoming.socket.remoteAddress ?? 'unknown';
}

/** The whole body, or undefined once it passes `limit` bytes (reading stops there). */
async function readLimited(request: Request, limit: number): Promise<Uint8Array | undefined> {
  if (!request.body) return new Uint8Array(0);
  const parts: Uint8Array[] = [];
  let size = 0;
  for await (const part of request.body as unknown as AsyncIterable<Uint8Array>) {
    size += part.length;
    if (size > limit) return undefined;
    parts.push(part);
  }
  return Buffer.concat(parts);
}
